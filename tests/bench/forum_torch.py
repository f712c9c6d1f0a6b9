#!/usr/bin/python3
"""forum_torch.py: the forum model in PyTorch, timed, for ember's benchmark.

Flatten -> Linear(784, 512) relu -> Linear(512, 1024) relu -> Linear(1024, 30)
sigmoid, trained like Keras trains it: glorot_uniform weights, zero biases;
sparse_categorical_crossentropy from probabilities (clip the outputs to
[1e-7, 1 - 1e-7], take their log, softmax cross-entropy of that, mean over
the batch); Adam in Keras's form (eps 1e-7, both bias corrections folded
into the step size); shuffled batches, the last partial one kept.

Usage: forum_torch.py [--batch 32] [--threads 2] [--epochs 1]
                      [--data /usr/share/datasets/fashion-mnist]
Prints one JSON object: the seconds of each epoch and the last epoch's mean
loss and accuracy. When torch cannot be imported it prints {"skip": why}
and exits 0: the benchmark then leaves the PyTorch rows out.
"""
import argparse
import gzip
import json
import math
import struct
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument('--batch', type=int, default=32)
parser.add_argument('--threads', type=int, default=2)
parser.add_argument('--epochs', type=int, default=1)
parser.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
args = parser.parse_args()

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except Exception as e:   # not installed (CI): skip, never fail
    print(json.dumps({'skip': 'cannot import torch: %s' % e}))
    sys.exit(0)


def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    rank = struct.unpack('>I', data[:4])[0] & 0xff
    dims = struct.unpack('>' + 'I' * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


try:
    x_train = torch.from_numpy(idx(args.data + '/train-images-idx3-ubyte.gz')
                               .reshape(-1, 784).astype(np.float32) / np.float32(255.0))
    y_train = torch.from_numpy(idx(args.data + '/train-labels-idx1-ubyte.gz').astype(np.int64))
except OSError as e:
    print(json.dumps({'skip': 'no data: %s' % e}))
    sys.exit(0)

torch.set_num_threads(args.threads)
torch.manual_seed(42)


def dense(fan_in, fan_out):
    # glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)); bias 0.
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    w = (torch.rand(fan_in, fan_out) * 2 - 1) * limit
    return [w.requires_grad_(), torch.zeros(fan_out, requires_grad=True)]


params = dense(784, 512) + dense(512, 1024) + dense(1024, 30)
w1, b1, w2, b2, w3, b3 = params


def forward(x):
    h = torch.relu(torch.addmm(b1, x, w1))
    h = torch.relu(torch.addmm(b2, h, w2))
    return torch.sigmoid(torch.addmm(b3, h, w3))


def keras_loss(y, labels):
    # Keras, from_logits=False: clip, log, then softmax cross-entropy.
    q = torch.clamp(y, 1e-7, 1 - 1e-7)
    return F.cross_entropy(torch.log(q), labels)


class KerasAdam:
    """w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        a = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            p.addcdiv_(m, v.sqrt().add_(self.eps), value=-a)
            p.grad = None


opt = KerasAdam(params)
n = x_train.shape[0]
times = []
for epoch in range(args.epochs):
    start = time.perf_counter()
    order = torch.randperm(n)
    loss_sum, correct = 0.0, 0
    for first in range(0, n, args.batch):
        index = order[first:first + args.batch]
        x, labels = x_train[index], y_train[index]
        y = forward(x)
        loss = keras_loss(y, labels)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(index)
        correct += (y.argmax(1) == labels).sum().item()
    times.append(time.perf_counter() - start)

print(json.dumps({'epochs': times, 'batch': args.batch, 'threads': torch.get_num_threads(),
                  'torch': torch.__version__, 'loss': loss_sum / n, 'accuracy': correct / n}))
