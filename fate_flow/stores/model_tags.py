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
    """Create, change and list tags; put them on and take them off model versions.

    Messages and answer keys are FATE 1.5/1.6's (``model_app``'s tag routes); where FATE answered
    a success message as the retcode (tag create), the retcode is 0 and the message is the retmsg.
    """

    def create(self, name: Any, desc: Any = None) -> str:
        name = _name("tag_name", name)
        with DB.atomic():
            if Tag.get_or_none(Tag.f_name == name) is not None:
                raise TagError(f"'{name}' has already exists in database.")
            Tag.create(f_name=name, f_desc=str(desc or ""))
        return f"'{name}' tag has been created successfully."

    def _tag(self, name: Any, field: str = "tag_name") -> Tag:
        tag = Tag.get_or_none(Tag.f_name == _name(field, name))
        if tag is None:
            raise TagError(f"Can not found '{name}' tag.")
        return tag

    def retrieve(self, name: Any, with_model: bool) -> dict:
        """Tags whose name contains ``name``; with ``with_model``, the model versions carrying the tag ``name``."""
        if with_model:
            tag = self._tag(name)
            versions = [r.f_m_id for r in ModelTag.select().where(ModelTag.f_t_id == tag.f_id)]
            models = self._models(versions)
            return {"models": models, "count": len(models)}
        name = _name("tag_name", name)
        tags = Tag.select().where(Tag.f_name.contains(name)).order_by(Tag.f_id)
        found = [{"name": t.f_name, "description": t.f_desc} for t in tags]
        if not found:
            raise TagError("No tags found.")
        return {"tags": found}

    def update(self, name: Any, new_name: Any, new_desc: Any) -> str:
        tag = self._tag(name)
        renamed = new_name not in (None, "") and new_name != tag.f_name
        described = new_desc is not None and str(new_desc) != tag.f_desc
        if not renamed and not described:
            raise TagError("Nothing to be updated.")
        with DB.atomic():
            if renamed:
                new_name = _name("new_tag_name", new_name)
                if Tag.get_or_none(Tag.f_name == new_name) is not None:
                    raise TagError(f"'{new_name}' tag already exists.")
                tag.f_name = new_name
            if described:
                tag.f_desc = str(new_desc)
            tag.save()
        return f"Infomation of '{name}' tag has been updated successfully."  # sic: FATE's spelling

    def destroy(self, name: Any) -> str:
        """Delete a tag and take it off every model."""
        tag = self._tag(name)
        with DB.atomic():
            ModelTag.delete().where(ModelTag.f_t_id == tag.f_id).execute()
            tag.delete_instance()
        return f"'{tag.f_name}' tag has been deleted successfully."

    def list(self, limit: Any) -> dict:
        """The first ``limit`` tags in the order they were made (every one when absent), each with its model count."""
        count = validate.check_limit("limit", limit) if limit not in (None, "") else -1
        counts = (ModelTag.select(ModelTag.f_t_id, fn.COUNT(ModelTag.f_id).alias("n")).group_by(ModelTag.f_t_id))
        models = {row.f_t_id: row.n for row in counts}
        query = Tag.select().order_by(Tag.f_id)
        if count >= 0:
            query = query.limit(count)
        return {"tags": [{"name": t.f_name, "description": t.f_desc, "model_count": models.get(t.f_id, 0)}
                         for t in query]}

    # ---- tags on a model version (``job_id`` names the version, as FATE's model tag routes do)

    @staticmethod
    def _model(job_id: Any) -> MachineLearningModelMeta:
        """The model row of the version ``job_id`` trained (a guest's if there is one)."""
        job_id = validate.check_scalar_id("job_id", job_id)
        if job_id in (None, ""):
            raise ArgumentError("job_id", "is required: the job that trained the model")
        rows = MachineLearningModelMeta.select().where(MachineLearningModelMeta.f_model_version == str(job_id))
        row = min(rows, key=lambda r: (r.f_role != "guest", r.f_id), default=None)
        if row is None:
            raise TagError(f"Can not found model by job id: '{job_id}'.")
        return row

    def _model_tags(self, version: str) -> list[Tag]:
        return list(Tag.select().join(ModelTag, on=(ModelTag.f_t_id == Tag.f_id)).where(ModelTag.f_m_id == version))

    def tag_model(self, job_id: Any, name: Any) -> str:
        """Put a tag on the model version of ``job_id``; the tag is created when new."""
        model = self._model(job_id)
        name = _name("tag_name", name)
        with DB.atomic():
            tag = Tag.get_or_none(Tag.f_name == name) or Tag.create(f_name=name, f_desc="")
            if any(t.f_id == tag.f_id for t in self._model_tags(model.f_model_version)):
                raise TagError(f"Model {model.f_model_id} {model.f_model_version} already been tagged as tag "
                               f"'{name}'.")
            ModelTag.create(f_m_id=model.f_model_version, f_t_id=tag.f_id)
        return f"Adding {name} tag for model with job id: {job_id} successfully."

    def untag_model(self, job_id: Any, name: Any) -> str:
        model = self._model(job_id)
        tag = self._tag(name)
        deleted = ModelTag.delete().where(ModelTag.f_m_id == model.f_model_version,
                                          ModelTag.f_t_id == tag.f_id).execute()
        if not deleted:
            raise TagError(f"Model {model.f_model_id} {model.f_model_version} does not have tag '{tag.f_name}'.")
        return f"'{tag.f_name}' tag has been removed from tag list of model {model.f_model_id} " \
               f"{model.f_model_version}."

    def model_tags(self, job_id: Any) -> dict:
        tags = self._model_tags(self._model(job_id).f_model_version)
        return {"tags": [{"name": t.f_name, "description": t.f_desc} for t in tags], "count": len(tags)}

    @staticmethod
    def _models(versions: list[str]) -> list[dict]:
        """One entry per model version (its guest's row, else the first): model_id, model_version, model_size."""
        if not versions:
            return []
        seen: dict[str, dict] = {}
        rows = MachineLearningModelMeta.select().where(MachineLearningModelMeta.f_model_version.in_(versions))
        for row in sorted(rows, key=lambda r: (r.f_role != "guest", r.f_id)):
            seen.setdefault(row.f_model_version, {"model_id": row.f_model_id, "model_version": row.f_model_version,
                                                  "model_size": row.f_size})
        return list(seen.values())
