//! Cutting a Tor circuit mid-transfer on the private network.
