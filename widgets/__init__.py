"""The board's widgets: they render and post messages, and never spawn processes or
write files. They import only the model, the state machine and the event types.
"""
