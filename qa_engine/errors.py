"""The one exception tree of qa_engine.

    QAEngineError
    ├── ConfigError            bad setting or argument
    ├── IngestError            a file could not be read or normalised
    ├── IndexNotFoundError     no index at the given path
    ├── IndexMismatchError     index built with another embedder / incompatible version
    ├── IndexBusyError         another writer holds the index lock
    ├── IndexCorruptError      the index folder is damaged (store, generation files)
    ├── DocumentExistsError    a file with this identity is indexed with other content
    ├── DocumentNotFoundError  unknown document id
    ├── InvalidQueryError      empty or oversized question
    ├── ModelFileError         a model file that cannot be read or converted
    └── MissingDependencyError optional package not installed
"""

from __future__ import annotations


class QAEngineError(Exception):
    """Base class of every error qa_engine raises on purpose."""

    code = "qa_engine_error"


class ConfigError(QAEngineError):
    code = "config_error"


class IngestError(QAEngineError):
    code = "ingest_error"


class IndexNotFoundError(QAEngineError):
    code = "index_not_found"


class IndexMismatchError(QAEngineError):
    code = "index_mismatch"


class IndexBusyError(QAEngineError):
    code = "index_busy"


class IndexCorruptError(QAEngineError):
    code = "index_corrupt"


class DocumentExistsError(QAEngineError):
    code = "document_exists"


class DocumentNotFoundError(QAEngineError):
    code = "document_not_found"


class InvalidQueryError(QAEngineError):
    code = "invalid_query"


class ModelFileError(QAEngineError):
    code = "model_file_error"


class MissingDependencyError(QAEngineError):
    code = "missing_dependency"

    @classmethod
    def for_package(cls, package: str, extra: str | None = None) -> MissingDependencyError:
        hint = f"pip install 'qa-engine[{extra}]'" if extra else f"pip install {package}"
        return cls(f"optional package {package!r} is not installed: run `{hint}`")
