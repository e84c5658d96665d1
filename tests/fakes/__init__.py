"""Hand-written fakes of third-party services, faked at the HTTP boundary so the vendor SDK's own code runs."""
