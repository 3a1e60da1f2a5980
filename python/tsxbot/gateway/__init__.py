"""The TopStepX (ProjectX Gateway) client: REST (``rest.ProjectXRest``), SignalR hubs
(``hub.HubConnection``), typed errors, wire models and enums, and the mapping to tsxbot messages
(``normalize``). Nothing else in tsxbot talks to TopStepX."""
