"""HeteroNN and HomoNN: FATE 1.4's neural network modules, run on PyTorch (CPU).

FATE 1.4 describes the layers as a Keras Sequential JSON (or its own "nn" list, or a pytorch
list); ``layers`` translates them into torch modules, losses and optimizers. torch is the
optional extra ``nn`` (``pip install -e '.[nn]'``): nothing here imports it at module import,
the task calls ``torch_support.require_torch`` first, so a server without torch runs every
other module and a job naming HeteroNN/HomoNN fails with a message saying how to install it.

Modules: ``param`` (HeteroNNParam, HomoNNParam), ``spec`` (registration), ``torch_support``
(the import guard), ``layers`` (definitions -> torch), ``common`` (data, predict rows, weight
bytes), ``homo`` (clients and arbiter, masked by ``homo_lr.secure_aggregation``), ``hetero``
(guest and host with the Paillier interactive layer), ``transfer`` (the messages).
"""
