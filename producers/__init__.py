"""Producers: the only contact with the outside world; everything becomes events on Kafka."""
