"""Notifications: templates, the transactional outbox, the dispatcher and its channels."""
