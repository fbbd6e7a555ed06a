# What does not translate: other libraries, custom clients, gevent, unknown
# event hooks. Each is reported with its line and left as a fail().
import gevent
import requests
from locust import HttpUser, User, task, events, between


@events.request.add_listener
def on_request(request_type, name, response_time, response_length, **kwargs):
    print(name)


class WebUser(HttpUser):
    wait_time = between(0.1, 0.2)

    @task(2)
    def ok(self):
        self.client.get("/ok")

    @task
    def other_library(self):
        requests.get("http://example.com/")

    @task
    def spawn(self):
        gevent.spawn(self.ok)


class GrpcUser(User):
    wait_time = between(1, 2)

    @task
    def call(self):
        self.client.SayHello(name="x")
