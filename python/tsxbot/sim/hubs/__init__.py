"""SignalR hubs over WebSockets (JSON protocol): the user hub and the market hub."""
