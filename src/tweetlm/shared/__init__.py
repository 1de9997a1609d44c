"""Modules several stages use: the base model's loading (pretrained), W&B tracking, a
handle's name and face (identity), the bots' balancing (balance), the text rules filter and
predict both apply (text). No stage imports another stage; shared code lives here."""
