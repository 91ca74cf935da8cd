"""Install with ``pip install -e .`` (server and client), ``pip install -e '.[test]'`` or ``'.[test,spark]'``."""
from setuptools import find_packages, setup

setup(
    name="fate-flow-server",
    version="1.4.5",
    description="A FATE-Flow 1.4 compatible job scheduling server for federated learning",
    python_requires=">=3.9",
    packages=find_packages(include=["fate_flow", "fate_flow.*"]),
    py_modules=["fate_flow_server", "fate_flow_client"],
    package_data={"fate_flow": ["components/README.md", "dashboard/static/*", "dashboard/templates/*"]},
    install_requires=[
        "flask>=2.2",
        "werkzeug>=2.2",
        "peewee>=3.17",
        "pymysql>=1.0",  # MySQL/MariaDB driver for peewee
        "gunicorn>=21",
        "requests>=2.28",
        "ruamel.yaml>=0.17",
        "numpy>=1.23",
        # pyarrow: tables stored as Parquet, multi-threaded vectorised parsing of uploads,
        # zero-copy to numpy for components, and readable as they are by Spark
        "pyarrow>=14",
        # msgpack: the safe wire format between parties (no pickle), fast for numpy buffers
        "msgpack>=1.0",
        # psutil: process create times, so a kill never hits a reused pid
        "psutil>=5.9",
        # gmpy2: GMP big integers for Paillier and RSA (5-10x Python's pow on 1024-bit numbers)
        "gmpy2>=2.1",
        # redis: the Redis model store of /v1/model/store and restore
        "redis>=4.0",
        # pika: the RabbitMQ federation backend of cluster mode (the reference AMQP client)
        "pika>=1.3",
        # cloudpickle: kernels (closures included) shipped to the local engine's worker processes,
        # as Spark ships them to executors; only ever within one party, never across parties
        "cloudpickle>=2.2",
        # plotly: only for the plotly.min.js its wheel ships, which the dashboard serves (no CDN, no npm step)
        "plotly>=5",
        # prometheus-client: the /metrics exposition, and its multiprocess mode for gunicorn's workers
        "prometheus-client>=0.17",
        # swagger-ui-bundle: Swagger UI's files in a wheel (kept by spec-first, connexion's makers), so /docs
        # renders the OpenAPI document offline, without a CDN or JavaScript of our own
        "swagger-ui-bundle>=1.1",
    ],
    extras_require={
        # scikit-learn: reference values for the metric tests; xgboost: the central reference SecureBoost
        # is held to (AUC/accuracy/RMSE of the same trees on the joined data)
        # pytest < 9: pytest-xdist 3.8's loadgroup puts a group's tests on one worker by renaming their node
        # ids, which pytest 9 no longer honours (every module-wide server and model would be set up twice)
        "test": ["pytest>=7,<9", "pytest-xdist>=3", "pytest-timeout>=2", "scikit-learn>=1.2", "xgboost>=2",
                 # selenium: drives Debian's chromium through its chromedriver in the dashboard tests
                 "selenium>=4.10",
                 # schemathesis: fuzzes the live server from its /openapi.json (tests/test_openapi.py)
                 "schemathesis>=4"],
        # pyspark: the Spark computing engine (backend 1) and its standalone test cluster. Its wheel
        # carries Spark's jars, so no Spark install is needed. 3.5 is Spark's maintained 3.x line and
        # runs on Java 8/11/17 and Python 3.9-3.11 alike; 4.x needs Java 17+ on every cluster node
        # and changes defaults (Scala 2.13, ANSI SQL)
        "spark": ["pyspark>=3.5,<3.6"],
        # torch: HeteroNN and HomoNN run their layers on PyTorch (CPU). Pinned so that pip takes the
        # CPU wheel and never resolves a multi-GB CUDA build; imported only inside those modules' tasks
        "nn": ["torch==2.13.0"],
        # scikit-learn: only LocalBaseline runs it (FATE's baseline is scikit-learn's LogisticRegression).
        # An extra, not a requirement: with scipy it is ~100 MB that no other module needs, and a party
        # without it gets a task error that names this extra
        "sklearn": ["scikit-learn>=1.2"],
    },
    entry_points={
        "console_scripts": [
            "fate_flow_server = fate_flow.server:main",
            "fate_flow_client = fate_flow_client:main",
        ],
    },
)
