"""What the simulator puts on the wire: ProjectX enums, models and their JSON encoding."""
