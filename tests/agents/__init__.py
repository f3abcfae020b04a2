"""Reference agents for the tests: graphs speaking interrupt contracts other than the demo's."""
