"""Messages: the one ``send()`` pipeline, the message store and its status machine."""
