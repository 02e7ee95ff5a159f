"""The self-care portal: server-rendered pages for subscribers and fleet admins."""
