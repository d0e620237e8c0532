"""The mock's own surface: what a tester uses to steer it and to look inside.

``admin`` serves the /__admin routes; ``gateway`` journals every HTTP request and
applies injected latency and faults in front of the API; ``faults`` decides which
request fails how; ``journal`` keeps the redacted record of what came in.
"""

# Admin routes are never journaled and never faulted.
ADMIN_PREFIX = "/__admin"
