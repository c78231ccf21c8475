"""An HTTP server over ``Recognizer``: the same readings as the CLI, as JSON."""
