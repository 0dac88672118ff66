"""`orchestrate demo`: a sample project and the scripted agent that stands in for `claude -p`."""
