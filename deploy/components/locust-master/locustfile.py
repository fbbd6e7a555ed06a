# locustfile.py
from locust import HttpUser, task, between
import random
import json

class APIUser(HttpUser):
    """Simulates user behavior against the API."""

    # Wait 1-3 seconds between requests to simulate real usage
    wait_time = between(1, 3)

    def on_start(self):
        """Called when a user starts - performs login."""
        response = self.client.post("/api/login", json={
            "username": f"user_{random.randint(1, 10000)}",
            "password": "test123"
        })
        if response.status_code == 200:
            self.token = response.json()["token"]
        else:
            self.token = None

    @task(3)
    def get_data(self):
        """Fetch data - most common operation (weight: 3)."""
        if not self.token:
            return

        headers = {"Authorization": f"Bearer {self.token}"}
        self.client.get(
            f"/api/data/{random.randint(1, 1000)}",
            headers=headers,
            name="/api/data/[id]"
        )

    @task(2)
    def list_items(self):
        """List items with pagination (weight: 2)."""
        if not self.token:
            return

        headers = {"Authorization": f"Bearer {self.token}"}
        page = random.randint(1, 100)
        self.client.get(
            f"/api/items?page={page}&limit=20",
            headers=headers,
            name="/api/items"
        )

    @task(1)
    def create_item(self):
        """Create new item - less frequent operation (weight: 1)."""
        if not self.token:
            return

        headers = {"Authorization": f"Bearer {self.token}"}
        data = {
            "title": f"Item {random.randint(1, 100000)}",
            "description": "Test item for soak testing",
            "value": random.randint(1, 1000)
        }
        self.client.post(
            "/api/items",
            headers=headers,
            json=data,
            name="/api/items"
        )

    @task(1)
    def update_item(self):
        """Update existing item."""
        if not self.token:
            return

        headers = {"Authorization": f"Bearer {self.token}"}
        item_id = random.randint(1, 1000)
        data = {"value": random.randint(1, 1000)}
        self.client.patch(
            f"/api/items/{item_id}",
            headers=headers,
            json=data,
            name="/api/items/[id]"
        )

    def on_stop(self):
        """Called when a user stops - cleanup if needed."""
        if self.token:
            headers = {"Authorization": f"Bearer {self.token}"}
            self.client.post("/api/logout", headers=headers)
