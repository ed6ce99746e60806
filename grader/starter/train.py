"""Train MLP(3, [4, 4, 1]) on four examples with plain gradient descent: run `python train.py`."""

import random
import sys

from nn import MLP

# The four examples and their targets.
XS = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
]
YS = [1.0, -1.0, -1.0, 1.0]


# ## Step training
def train_step(model, xs, ys, learning_rate):
    """One step of gradient descent on the summed squared error. Returns the loss before the update."""
    # TODO(training): one step of gradient descent.
    #  1. Predict: model(x) for every x in xs.
    #  2. Loss: the sum over the examples of (prediction - target) ** 2.
    #  3. Clear the gradient of every parameter (backward() adds into .grad).
    #  4. loss.backward()
    #  5. Nudge every parameter's .data by learning_rate, in the direction that lowers the loss.
    #  Return the loss Value.
    raise NotImplementedError("TODO(training): implement train_step in train.py")


def train(model, xs=XS, ys=YS, steps=50, learning_rate=0.05, log=print, log_every=10):
    """Run `steps` training steps; return the loss of each step as a list of floats."""
    losses = []
    for step in range(steps):
        loss = train_step(model, xs, ys, learning_rate)
        losses.append(loss.data)
        if log is not None and step % log_every == 0:
            log(f"step {step:3d}   loss {loss.data:.6f}")
    return losses

def sparkline(values):
    """The values as a one-line chart, from the first to the last."""
    bars = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
    try:
        bars.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        bars = "_.-~=+*#"        # a console that cannot show the block characters
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(bars[min(len(bars) - 1, int((v - low) / span * len(bars)))] for v in values)


def main():
    random.seed(1)  # the same starting weights on every run
    try:
        model = MLP(3, [4, 4, 1])
        print(f"MLP(3, [4, 4, 1]) with {len(model.parameters())} parameters")
        losses = train(model)
    except NotImplementedError as todo:
        # The stubs are not filled in yet: say which one, without a traceback.
        print(f"Not ready to train yet: {todo}")
        print("Run `python -m grader` to see which step to work on next.")
        raise SystemExit(1)
    print(f"final loss {losses[-1]:.6f}   {losses[0]:.2f} {sparkline(losses)} {losses[-1]:.4f}")
    predictions = [model(x).data for x in XS]
    print("predictions", [round(p, 4) for p in predictions])
    print("targets    ", YS)


if __name__ == "__main__":
    main()
