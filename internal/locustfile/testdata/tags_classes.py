"""Several user classes, tags, weights, a fixed count, session headers and
cookies, instance attributes, module constants and helpers, and events."""
import random
import string
import time
import uuid

from locust import HttpUser, task, tag, between, constant_throughput, events

API_VERSION = "v1"
PRODUCTS = ["apple", "banana", "cherry"]


def random_name(n=8):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    print("A new test is starting")


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    print("A test is ending")


class Browser(HttpUser):
    weight = 3
    wait_time = between(0.1, 0.5)
    page_size = 20

    def on_start(self):
        self.client.headers.update({"X-Client": "horde-test"})
        self.client.cookies.set("session", uuid.uuid4().hex)
        self.seen = 0

    @tag("browse")
    @task(2)
    def list_products(self):
        product = random.choice(PRODUCTS)
        self.client.get("/api/%s/products" % API_VERSION, params={"q": product, "size": self.page_size},
                        name="/api/[v]/products")
        self.seen += 1

    @tag("browse", "detail")
    @task
    def product(self):
        pid = random.randint(1, 500)
        self.client.get("/api/{}/products/{}".format(API_VERSION, pid), name="/api/[v]/products/[id]")


class Admin(HttpUser):
    fixed_count = 1
    wait_time = constant_throughput(2)

    @tag("admin")
    @task
    def report(self):
        started = time.time()
        r = self.client.get("/admin/report", headers={"X-Request-Id": str(uuid.uuid4())})
        if r.status_code == 200 and r.headers.get("Content-Type", "").startswith("application/json"):
            print(f"report took {time.time() - started:.3f}s for {random_name()}")
