import json

from locust import FastHttpUser, task, constant_pacing


class ApiUser(FastHttpUser):
    wait_time = constant_pacing(0.5)

    @task
    def check_status(self):
        with self.client.get("/status", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif "ok" not in response.text:
                response.failure("no ok in body")
            else:
                response.success()

    @task
    def create(self):
        with self.client.post("/api/items", json={"title": "x"}, catch_response=True, name="create") as resp:
            try:
                if resp.json()["id"] is None:
                    resp.failure("no id")
            except (KeyError, json.JSONDecodeError):
                resp.failure("bad JSON")
            if resp.elapsed.total_seconds() > 2.0:
                resp.failure("too slow")
