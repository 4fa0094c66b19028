"""The live odds stream: books built from Kafka, subscriptions, resume tokens and conflation.

hub (api/fanout.py)  one Kafka consumer per process -> books -> rendered updates
  └── Session         one per websocket: auth, subscriptions, outbox, heartbeats
        └── Subscription  filter + view (fields, odds format) + conflation
              └── HistoryReader  resume catch-up and replay, read back from Kafka
"""
