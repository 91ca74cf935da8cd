"""Online serving built into the server: load and bind models, answer FATE-Serving's inference API."""
from fate_flow.serving.publish import ModelPublisher, model_key, serving_key
from fate_flow.serving.registry import ModelKey, ServingRegistry
from fate_flow.serving.service import ServingService

__all__ = ["ModelKey", "ModelPublisher", "ServingRegistry", "ServingService", "model_key", "serving_key"]
