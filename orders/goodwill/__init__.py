"""Goodwill on long waits: per-rule gestures (a free shipping upgrade, store credit, a discount
code) for customers who waited too long or whose ETA moved, within a monthly budget."""
