from locust import HttpUser, SequentialTaskSet, task, between


class Checkout(SequentialTaskSet):
    def on_start(self):
        self.cart = []

    @task
    def browse(self):
        r = self.client.get("/api/items?page=1&limit=5", name="/api/items")
        self.cart = [item["id"] for item in r.json().get("items", [])][:2]

    @task
    def add(self):
        for item_id in self.cart:
            self.client.post("/api/cart", json={"id": item_id})

    @task
    def pay(self):
        self.client.post("/api/checkout", json={"total": len(self.cart)})
        self.interrupt()


class Shopper(HttpUser):
    wait_time = between(0.1, 0.3)
    tasks = [Checkout]
