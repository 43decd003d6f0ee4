"""Event pricing policy: an event's forecast prior and its station's reports -> prices."""
