# Nested TaskSets (Locust's docs), a task set in a dict with a plain
# function, and interrupt().
from locust import HttpUser, TaskSet, task, constant


def index(l):
    l.client.get("/")


class ForumSection(TaskSet):
    wait_time = constant(0.1)

    @task(10)
    def view_thread(self):
        self.client.get("/forum/thread")

    @task(1)
    def create_thread(self):
        self.client.post("/forum/thread", data={"title": "hello"})

    @task(2)
    def stop(self):
        self.interrupt()


class UserBehaviour(TaskSet):
    tasks = {ForumSection: 2, index: 1}

    @task
    def about(self):
        self.client.get("/about/")


class WebsiteUser(HttpUser):
    host = "http://127.0.0.1:8080"
    tasks = [UserBehaviour]
    wait_time = constant(0.2)
