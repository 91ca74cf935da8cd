"""Model tags (FATE 1.5's ``flow tag`` and ``flow model tag-model``): the only writer of t_tags and t_model_tag.

A tag is a unique name with a description; a model version (a training job's id) carries
any number of tags. Answers and messages follow FATE 1.5's tag routes.
"""
from __future__ import annotations

from typing import Any

from peewee import fn

from fate_flow.db import DB, MachineLearningModelMeta
from fate_flow.db.models import ModelTag, Tag
from fate_flow.errors import ArgumentError, TagError
from fate_flow.utils import validate

MAX_TAG_NAME = 100


def _name(field: str, value: Any) -> str:
    """A tag name: a non-empty string of at most 100 characters; ArgumentError naming ``field`` otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ArgumentError(field, "should be a non-empty string")
    validate.check_text(field, value, path_safe=False, max_length=MAX_TAG_NAME)
    return value


class ModelTags:
    """Create, change and list tags; put them on and take them off model versions."""

    def create(self, name: Any, desc: Any = None) -> str:
        name = _name("tag_name", name)
        with DB.atomic():
            if Tag.get_or_none(Tag.f_name == name) is not None:
                raise TagError(f"'{name}' tag already exists")
            Tag.create(f_name=name, f_desc=str(desc or ""))
        return f"Create tag successfully: '{name}'"

    def _tag(self, name: Any, field: str = "tag_name") -> Tag:
        tag = Tag.get_or_none(Tag.f_name == _name(field, name))
        if tag is None:
            raise TagError(f"There is no tag named '{name}'")
        return tag

    def retrieve(self, name: Any, with_model: bool) -> dict:
        """A tag's name and description, with the model versions it is on when ``with_model``."""
        tag = self._tag(name)
        data: dict = {"tags": [{"name": tag.f_name, "description": tag.f_desc}]}
        if with_model:
            versions = [r.f_m_id for r in ModelTag.select().where(ModelTag.f_t_id == tag.f_id)]
            data["models"] = self._models(versions)
        return data

    def update(self, name: Any, new_name: Any, new_desc: Any) -> str:
        tag = self._tag(name)
        with DB.atomic():
            if new_name not in (None, ""):
                new_name = _name("new_tag_name", new_name)
                if new_name != tag.f_name and Tag.get_or_none(Tag.f_name == new_name) is not None:
                    raise TagError(f"'{new_name}' tag already exists")
                tag.f_name = new_name
            if new_desc is not None:
                tag.f_desc = str(new_desc)
            tag.save()
        return f"Update tag successfully: '{name}'" + (f" is now '{tag.f_name}'" if tag.f_name != name else "")

    def destroy(self, name: Any) -> str:
        """Delete a tag and take it off every model."""
        tag = self._tag(name)
        with DB.atomic():
            ModelTag.delete().where(ModelTag.f_t_id == tag.f_id).execute()
            tag.delete_instance()
        return f"'{tag.f_name}' tag has been destroyed"

    def list(self, limit: Any) -> dict:
        """The newest tags first (``limit`` of them, every one when absent), each with its model count."""
        count = validate.check_limit("limit", limit) if limit not in (None, "") else -1
        counts = (ModelTag.select(ModelTag.f_t_id, fn.COUNT(ModelTag.f_id).alias("n")).group_by(ModelTag.f_t_id))
        models = {row.f_t_id: row.n for row in counts}
        query = Tag.select().order_by(Tag.f_create_time.desc(), Tag.f_id.desc())
        if count >= 0:
            query = query.limit(count)
        return {"tags": [{"name": t.f_name, "description": t.f_desc, "model_count": models.get(t.f_id, 0)}
                         for t in query]}

    # ---- tags on a model version (``job_id`` names the version, as FATE's model tag routes do)

    @staticmethod
    def _model_version(job_id: Any) -> str:
        job_id = validate.check_scalar_id("job_id", job_id)
        if job_id in (None, ""):
            raise ArgumentError("job_id", "is required: the job that trained the model")
        version = str(job_id)
        if not MachineLearningModelMeta.select().where(MachineLearningModelMeta.f_model_version == version).exists():
            raise TagError(f"Can not found model by job id: '{version}'")
        return version

    def _model_tags(self, version: str) -> list[Tag]:
        return list(Tag.select().join(ModelTag, on=(ModelTag.f_t_id == Tag.f_id)).where(ModelTag.f_m_id == version))

    def tag_model(self, job_id: Any, name: Any) -> str:
        """Put a tag on the model version of ``job_id``; the tag is created when new."""
        version = self._model_version(job_id)
        name = _name("tag_name", name)
        with DB.atomic():
            tag = Tag.get_or_none(Tag.f_name == name) or Tag.create(f_name=name, f_desc="")
            if any(t.f_id == tag.f_id for t in self._model_tags(version)):
                raise TagError(f"Model with job id '{version}' has already been tagged as '{name}'")
            ModelTag.create(f_m_id=version, f_t_id=tag.f_id)
        return f"Adding {name} tag for model with job id: {version} successfully"

    def untag_model(self, job_id: Any, name: Any) -> str:
        version = self._model_version(job_id)
        tag = self._tag(name)
        deleted = ModelTag.delete().where(ModelTag.f_m_id == version, ModelTag.f_t_id == tag.f_id).execute()
        if not deleted:
            raise TagError(f"Model with job id '{version}' does not have tag '{tag.f_name}'")
        return f"'{tag.f_name}' tag has been removed from tag list of model with job id: {version}"

    def model_tags(self, job_id: Any) -> dict:
        tags = self._model_tags(self._model_version(job_id))
        return {"tags": [{"name": t.f_name, "description": t.f_desc} for t in tags], "count": len(tags)}

    @staticmethod
    def _models(versions: list[str]) -> list[dict]:
        """One entry per model version (its first party's row): model_id, model_version, model_size."""
        if not versions:
            return []
        seen: dict[str, dict] = {}
        rows = MachineLearningModelMeta.select().where(MachineLearningModelMeta.f_model_version.in_(versions))
        for row in rows.order_by(MachineLearningModelMeta.f_id):
            seen.setdefault(row.f_model_version, {"model_id": row.f_model_id, "model_version": row.f_model_version,
                                                  "model_size": row.f_size})
        return list(seen.values())
