"""REST API (Django REST framework): views and serializers per concept, auth, errors."""
