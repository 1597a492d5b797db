from django.apps import AppConfig


class PeerConfig(AppConfig):
    name = "peer"
