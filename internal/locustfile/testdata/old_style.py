# Locust 0.x, still in many tutorials: HttpLocust, task_set, min_wait/max_wait
# in milliseconds, a TaskSet's tasks as a dict of functions.
from locust import HttpLocust, TaskSet


def login(l):
    l.client.post("/login", {"username": "ellen_key", "password": "education"})


def index(l):
    l.client.get("/")


def profile(l):
    l.client.get("/profile")


class UserBehavior(TaskSet):
    tasks = {index: 2, profile: 1}

    def on_start(self):
        login(self)


class WebsiteUser(HttpLocust):
    task_set = UserBehavior
    min_wait = 100
    max_wait = 300
