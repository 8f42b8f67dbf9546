print("turnpike")
