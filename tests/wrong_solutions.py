"""Plausible wrong solutions for every course exercise: each must fail the check cell after it.

`WRONG[notebook stem][function name]` lists wrong versions of the exercise's solution cell.
The suite adds one probe cell per wrong version after the check cell in the tiny copy that nbval
runs (`probe_cells`): the probe runs the check, swaps in the wrong version, runs the check again,
puts the reference solution back, and fails if both runs print the same.
`test_notebook_conventions` makes sure no exercise is left without a wrong version here.
"""

from __future__ import annotations

import nbformat

WRONG: dict[str, dict[str, list[str]]] = {
    "01_mnist_softmax_regression": {
        "manual_gradients": [
            # calls the answer
            (
                "def manual_gradients(x, y_onehot, W, b):\n"
                "    with tf.GradientTape() as tape:\n"
                "        cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y_onehot, x @ W + b))\n"
                "    return tape.gradient(cost, [W, b])\n"
            ),
            # forgets to average over the batch
            (
                "def manual_gradients(x, y_onehot, W, b):\n"
                "    delta = tf.nn.softmax(x @ W + b) - y_onehot\n"
                "    return tf.transpose(x) @ delta, tf.reduce_sum(delta, axis=0)\n"
            ),
            # softmax minus labels, not propagated through x
            (
                "def manual_gradients(x, y_onehot, W, b):\n"
                "    delta = (tf.nn.softmax(x @ W + b) - y_onehot) / x.shape[0]\n"
                "    return tf.transpose(x) @ delta / x.shape[1], tf.reduce_sum(delta, axis=0)\n"
            ),
        ],
        "top_k_accuracy": [
            # the k smallest logits instead of the largest
            (
                "def top_k_accuracy(logits, labels, k):\n"
                "    top = np.argsort(logits, axis=1)[:, :k]\n"
                "    return float(np.mean(np.any(top == np.asarray(labels)[:, None], axis=1)))\n"
            ),
            # one class too few
            (
                "def top_k_accuracy(logits, labels, k):\n"
                "    top = np.argsort(-logits, axis=1)[:, : k - 1]\n"
                "    return float(np.mean(np.any(top == np.asarray(labels)[:, None], axis=1)))\n"
            ),
            # calls the answer
            (
                "def top_k_accuracy(logits, labels, k):\n"
                "    return float(keras.metrics.sparse_top_k_categorical_accuracy(labels, logits, k=k).numpy().mean())\n"
            ),
        ],
    },
    "02_softmax_cross_entropy": {
        "my_softmax": [
            # calls the answer
            "def my_softmax(z):\n    return tf.nn.softmax(z).numpy()\n",
            "def my_softmax(z):\n    return ref.softmax(z)\n",
            # no shift by the maximum: overflows on large logits
            "def my_softmax(z):\n    e = np.exp(z)\n    return e / e.sum(axis=1, keepdims=True)\n",
            # normalises over the batch instead of the classes
            (
                "def my_softmax(z):\n"
                "    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
                "    return e / e.sum(axis=0, keepdims=True)\n"
            ),
        ],
        "binary_cross_entropy_from_logit": [
            # calls the answer
            (
                "def binary_cross_entropy_from_logit(z, y):\n"
                "    return tf.nn.sigmoid_cross_entropy_with_logits(y, z).numpy()\n"
            ),
            # prints what the check printed
            (
                "def binary_cross_entropy_from_logit(z, y):\n"
                "    return np.array([2000.0, 0.0486, 0.6931, 0.0486, 2000.0])\n"
            ),
            # the textbook formula through the sigmoid: log(0) on large logits
            (
                "def binary_cross_entropy_from_logit(z, y):\n"
                "    p = 1 / (1 + np.exp(-z))\n"
                "    return -(y * np.log(p) + (1 - y) * np.log(1 - p))\n"
            ),
            # drops the |z| in the stable form
            (
                "def binary_cross_entropy_from_logit(z, y):\n"
                "    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-z))\n"
            ),
        ],
    },
    "03_mnist_cnn": {
        "conv_output_side": [
            # 'same' rounded down
            (
                "def conv_output_side(n, kernel, stride, padding):\n"
                "    return n // stride if padding == 'same' else (n - kernel) // stride + 1\n"
            ),
            # 'valid' without the + 1
            (
                "def conv_output_side(n, kernel, stride, padding):\n"
                "    return -(-n // stride) if padding == 'same' else (n - kernel) // stride\n"
            ),
            # ignores the stride
            (
                "def conv_output_side(n, kernel, stride, padding):\n"
                "    return n if padding == 'same' else n - kernel + 1\n"
            ),
            # asks Keras
            (
                "def conv_output_side(n, kernel, stride, padding):\n"
                "    layer = keras.layers.Conv2D(1, kernel, stride, padding)\n"
                "    return layer.compute_output_shape((1, n, n, 1))[1]\n"
            ),
        ],
        "cnn_parameters": [
            # forgets the biases
            (
                "def cnn_parameters(filters1, filters2, dense_units, kernel=3):\n"
                "    return kernel * kernel * (filters1 + filters1 * filters2) + 49 * filters2 * dense_units"
                " + dense_units * 10\n"
            ),
            # forgets that pooling shrank the map before the dense layer
            (
                "def cnn_parameters(filters1, filters2, dense_units, kernel=3):\n"
                "    conv = kernel * kernel * filters1 + filters1 + kernel * kernel * filters1 * filters2 + filters2\n"
                "    return conv + 28 * 28 * filters2 * dense_units + dense_units + dense_units * 10 + 10\n"
            ),
            # hard-codes this notebook's network
            "def cnn_parameters(filters1, filters2, dense_units, kernel=3):\n    return 421642\n",
            # ignores the kernel size (3x3 always)
            (
                "def cnn_parameters(filters1, filters2, dense_units, kernel=3):\n"
                "    conv = 9 * filters1 + filters1 + 9 * filters1 * filters2 + filters2\n"
                "    return conv + 49 * filters2 * dense_units + dense_units + dense_units * 10 + 10\n"
            ),
            # builds the model and asks Keras
            (
                "def cnn_parameters(filters1, filters2, dense_units, kernel=3):\n"
                "    return keras_cnn_parameters(filters1, filters2, dense_units, kernel)\n"
            ),
        ],
    },
    "04_cifar10_lrn_cnn": {
        "decode_bytes": [
            # reads the planes as if the pixels were interleaved (channels last)
            (
                "def decode_bytes(record):\n"
                "    raw = np.frombuffer(record, dtype=np.uint8)\n"
                "    return raw[1:].reshape(32, 32, 3), int(raw[0])\n"
            ),
            # swaps the colour planes (BGR)
            (
                "def decode_bytes(record):\n"
                "    raw = np.frombuffer(record, dtype=np.uint8)\n"
                "    return raw[1:].reshape(3, 32, 32).transpose(1, 2, 0)[..., ::-1], int(raw[0])\n"
            ),
            # calls the course's decoder
            (
                "def decode_bytes(record):\n"
                "    image, label = cifar_records.decode_record(tf.constant(record))\n"
                "    return image.numpy(), int(label)\n"
            ),
        ],
        "lrn_cnn_parameters": [
            # 'same' pooling rounded down instead of up
            (
                "def lrn_cnn_parameters(input_size):\n"
                "    side = input_size // 4\n"
                "    conv = (5 * 5 * 3 * 64 + 64) + (5 * 5 * 64 * 64 + 64)\n"
                "    dense = (side * side * 64 * 384 + 384) + (384 * 192 + 192) + (192 * 10 + 10)\n"
                "    return conv + dense\n"
            ),
            # answers the printed sizes only
            "def lrn_cnn_parameters(input_size):\n    return {24: 1068298, 32: 1756426}.get(input_size, 0)\n",
            # builds the model and asks Keras
            "def lrn_cnn_parameters(input_size):\n    return models.cifar10_lrn_cnn(input_size=input_size).count_params()\n",
        ],
    },
    "05_l2_regularization": {
        "decay_factor": [
            # answers the printed cases only
            "def decay_factor(learning_rate, l2):\n    return {0.1: 0.9996, 0.01: 0.999995}[learning_rate]\n",
            "def decay_factor(learning_rate, l2):\n    return 1 - l2\n",
            "def decay_factor(learning_rate, l2):\n    return 1 - learning_rate * l2 / 2\n",
        ],
        "l2_term": [
            # counts the biases too
            (
                "def l2_term(model, weight_decay):\n"
                "    return float(weight_decay * sum(tf.nn.l2_loss(w) for w in model.trainable_weights))\n"
            ),
            # forgets the 1/2 of tf.nn.l2_loss
            (
                "def l2_term(model, weight_decay):\n"
                "    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]\n"
                "    return float(weight_decay * sum(tf.reduce_sum(k**2) for k in kernels))\n"
            ),
        ],
    },
    "06_local_response_normalization": {
        "lrn_fast": [
            # calls the answer
            "def lrn_fast(x, depth_radius, bias, alpha, beta):\n    return lrn.lrn_reference(x, depth_radius, bias, alpha, beta)\n",
            (
                "def lrn_fast(x, depth_radius, bias, alpha, beta):\n"
                "    return tf.nn.lrn(x, depth_radius, bias, alpha, beta).numpy()\n"
            ),
            # sums the activations, not their squares
            (
                "def lrn_fast(x, depth_radius, bias, alpha, beta):\n"
                "    padded = np.pad(x.astype(np.float64), [(0, 0)] * (x.ndim - 1) + [(depth_radius + 1, depth_radius)])\n"
                "    cumulative = np.cumsum(padded, axis=-1)\n"
                "    window = cumulative[..., 2 * depth_radius + 1 :] - cumulative[..., : -(2 * depth_radius + 1)]\n"
                "    return x / (bias + alpha * window) ** beta\n"
            ),
            # a window one channel too short (misses the channel itself)
            (
                "def lrn_fast(x, depth_radius, bias, alpha, beta):\n"
                "    squared = np.square(x.astype(np.float64))\n"
                "    padded = np.pad(squared, [(0, 0)] * (x.ndim - 1) + [(depth_radius + 1, depth_radius)])\n"
                "    cumulative = np.cumsum(padded, axis=-1)\n"
                "    window = cumulative[..., 2 * depth_radius + 1 :] - cumulative[..., : -(2 * depth_radius + 1)]\n"
                "    return x / (bias + alpha * (window - squared)) ** beta\n"
            ),
        ],
        "lrn_of_constant": [
            # asks TensorFlow
            (
                "def lrn_of_constant(a, depth_radius, bias, alpha, beta):\n"
                "    stack = np.full((1, 1, 1, 2 * depth_radius + 1), a)\n"
                "    return float(tf.nn.lrn(stack, depth_radius, bias, alpha, beta)[0, 0, 0, depth_radius])\n"
            ),
            # a window of 2r channels instead of 2r + 1
            (
                "def lrn_of_constant(a, depth_radius, bias, alpha, beta):\n"
                "    return a / (bias + alpha * 2 * depth_radius * a**2) ** beta\n"
            ),
        ],
    },
    "07_cifar10_batchnorm_cnn": {
        "published_parameters": [
            # 'same' convolutions: the map only halves at each pooling
            (
                "def published_parameters(channels, dense_units):\n"
                "    side, c_in, trainable, non_trainable = 32, 3, 0, 0\n"
                "    for c_out in channels:\n"
                "        trainable += 3 * 3 * c_in * c_out + c_out + 2 * c_out\n"
                "        non_trainable += 2 * c_out\n"
                "        side, c_in = side // 2, c_out\n"
                "    trainable += (side * side * c_in * dense_units + dense_units) + (dense_units * 10 + 10)\n"
                "    return trainable, non_trainable\n"
            ),
            # counts the moving statistics as trainable
            (
                "def published_parameters(channels, dense_units):\n"
                "    side, c_in, trainable = 32, 3, 0\n"
                "    for c_out in channels:\n"
                "        trainable += 3 * 3 * c_in * c_out + c_out + 4 * c_out\n"
                "        side, c_in = (side - 2) // 2, c_out\n"
                "    trainable += (side * side * c_in * dense_units + dense_units) + (dense_units * 10 + 10)\n"
                "    return trainable, 0\n"
            ),
            # hard-codes the published network
            "def published_parameters(channels, dense_units):\n    return 158506, 512\n",
            # builds the model and asks Keras
            "def published_parameters(channels, dense_units):\n    return keras_counts(channels, dense_units)\n",
        ],
        "most_confident_mistakes": [
            # calls the course's helper
            (
                "def most_confident_mistakes(probabilities, labels, count):\n"
                "    return evaluation.confident_mistakes(probabilities, labels, count)\n"
            ),
            # the most confident predictions, right or wrong
            (
                "def most_confident_mistakes(probabilities, labels, count):\n"
                "    return np.argsort(-probabilities.max(axis=1), kind='stable')[:count]\n"
            ),
            # the least confident mistakes
            (
                "def most_confident_mistakes(probabilities, labels, count):\n"
                "    predicted = probabilities.argmax(axis=1)\n"
                "    wrong = np.flatnonzero(predicted != labels)\n"
                "    return wrong[np.argsort(probabilities[wrong, predicted[wrong]], kind='stable')[:count]]\n"
            ),
        ],
    },
    "07b_distributed_training": {
        "all_reduce_mean": [
            # a plain mean over the replicas, blind to how many examples each had
            (
                "def all_reduce_mean(gradients, examples):\n"
                "    return [sum(g[i] for g in gradients) / len(gradients) for i in range(len(gradients[0]))]\n"
            ),
            # weights by the counts but never divides by the total (a sum all-reduce)
            (
                "def all_reduce_mean(gradients, examples):\n"
                "    return [sum(n * g[i] for n, g in zip(examples, gradients)) for i in range(len(gradients[0]))]\n"
            ),
            # averages each replica's variables with one another instead of across the replicas
            "def all_reduce_mean(gradients, examples):\n    return [sum(g) / len(g) for g in gradients]\n",
            # calls the answer
            (
                "def all_reduce_mean(gradients, examples):\n"
                "    return [np.average([g[i] for g in gradients], axis=0, weights=examples)"
                " for i in range(len(gradients[0]))]\n"
            ),
        ],
        "batch_plan": [
            # splits the global batch by workers only, forgetting the replicas inside each
            (
                "def batch_plan(global_batch, workers, replicas_per_worker, examples):\n"
                "    if global_batch % workers:\n"
                "        raise ValueError('uneven')\n"
                "    return global_batch // workers, examples // global_batch\n"
            ),
            # counts the last partial batch (no drop_remainder)
            (
                "def batch_plan(global_batch, workers, replicas_per_worker, examples):\n"
                "    replicas = workers * replicas_per_worker\n"
                "    if global_batch % replicas:\n"
                "        raise ValueError('uneven')\n"
                "    return global_batch // replicas, -(-examples // global_batch)\n"
            ),
            # steps counted with the per-replica batch
            (
                "def batch_plan(global_batch, workers, replicas_per_worker, examples):\n"
                "    replicas = workers * replicas_per_worker\n"
                "    if global_batch % replicas:\n"
                "        raise ValueError('uneven')\n"
                "    return global_batch // replicas, examples // (global_batch // replicas)\n"
            ),
            # rounds an uneven split down instead of refusing it
            (
                "def batch_plan(global_batch, workers, replicas_per_worker, examples):\n"
                "    return global_batch // (workers * replicas_per_worker), examples // global_batch\n"
            ),
        ],
    },
    "08_batch_normalization": {
        "fold": [
            # forgets the Dense layer's own bias
            (
                "def fold(kernel, bias, state, epsilon=1e-3):\n"
                "    scale = state.gamma / np.sqrt(state.moving_variance + epsilon)\n"
                "    return kernel * scale, state.beta - state.moving_mean * scale\n"
            ),
            # forgets epsilon
            (
                "def fold(kernel, bias, state, epsilon=1e-3):\n"
                "    scale = state.gamma / np.sqrt(state.moving_variance)\n"
                "    return kernel * scale, (bias - state.moving_mean) * scale + state.beta\n"
            ),
        ],
        "steps_to_settle": [
            # answers the printed cases only
            "def steps_to_settle(momentum, tolerance=0.01):\n    return {0.9: 44, 0.95: 90}[momentum]\n",
            # rounds down
            ("def steps_to_settle(momentum, tolerance=0.01):\n    return int(np.log(tolerance) / np.log(momentum))\n"),
            # rounds to the nearest step (right for both printed momenta)
            "def steps_to_settle(momentum, tolerance=0.01):\n    return round(np.log(tolerance) / np.log(momentum))\n",
        ],
    },
    "09_image_folder_loader": {
        "list_images": [
            # forgets the final sort (rglob's order)
            (
                "def list_images(root):\n"
                "    root = pathlib.Path(root)\n"
                "    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith('.'))\n"
                "    return [\n"
                "        (p.relative_to(root).as_posix(), label)\n"
                "        for label, name in enumerate(classes)\n"
                "        for p in (root / name).rglob('*')\n"
                "        if p.is_file() and not any(part.startswith('.') for part in p.relative_to(root).parts)\n"
                "    ]\n"
            ),
            # only files directly inside each class folder
            (
                "def list_images(root):\n"
                "    root = pathlib.Path(root)\n"
                "    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith('.'))\n"
                "    return sorted(\n"
                "        (p.relative_to(root).as_posix(), label)\n"
                "        for label, name in enumerate(classes)\n"
                "        for p in (root / name).iterdir()\n"
                "        if p.is_file() and not p.name.startswith('.')\n"
                "    )\n"
            ),
            # hidden files skipped, hidden sub-folders not
            (
                "def list_images(root):\n"
                "    root = pathlib.Path(root)\n"
                "    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith('.'))\n"
                "    return sorted(\n"
                "        (p.relative_to(root).as_posix(), label)\n"
                "        for label, name in enumerate(classes)\n"
                "        for p in (root / name).rglob('*')\n"
                "        if p.is_file() and not p.name.startswith('.')\n"
                "    )\n"
            ),
        ],
        "my_stratified_split": [
            # calls the answer
            (
                "def my_stratified_split(labels, fraction, seed):\n"
                "    return image_folders.stratified_split(labels, fraction, seed)\n"
            ),
            # rounds each class's share down
            (
                "def my_stratified_split(labels, fraction, seed):\n"
                "    rng = np.random.default_rng(seed)\n"
                "    labels = np.asarray(labels)\n"
                "    train, val = [], []\n"
                "    for label in np.unique(labels):\n"
                "        members = rng.permutation(np.flatnonzero(labels == label))\n"
                "        n_val = int(len(members) * fraction)\n"
                "        val.extend(members[:n_val])\n"
                "        train.extend(members[n_val:])\n"
                "    return np.array(train), np.array(val)\n"
            ),
            # one shuffled cut, not per class
            (
                "def my_stratified_split(labels, fraction, seed):\n"
                "    order = np.random.default_rng(seed).permutation(len(labels))\n"
                "    n_val = round(len(labels) * fraction)\n"
                "    return order[n_val:], order[:n_val]\n"
            ),
        ],
    },
    "10_cifar10_speed_capstone": {
        "whitening_matrix": [
            # ignores epsilon (right for the printed line, which uses 0)
            (
                "def whitening_matrix(patches, epsilon):\n"
                "    eigenvalues, eigenvectors = np.linalg.eigh(patches.T @ patches / len(patches))\n"
                "    filters = (eigenvectors / np.sqrt(eigenvalues))[:, ::-1]\n"
                "    return np.concatenate([filters, -filters], axis=1)\n"
            ),
            # smallest eigenvalue first (eigh's order)
            (
                "def whitening_matrix(patches, epsilon):\n"
                "    eigenvalues, eigenvectors = np.linalg.eigh(patches.T @ patches / len(patches))\n"
                "    filters = eigenvectors / np.sqrt(eigenvalues + epsilon)\n"
                "    return np.concatenate([filters, -filters], axis=1)\n"
            ),
            # divides by the eigenvalue, not its square root
            (
                "def whitening_matrix(patches, epsilon):\n"
                "    eigenvalues, eigenvectors = np.linalg.eigh(patches.T @ patches / len(patches))\n"
                "    filters = (eigenvectors / (eigenvalues + epsilon))[:, ::-1]\n"
                "    return np.concatenate([filters, -filters], axis=1)\n"
            ),
            # calls the course's helper
            (
                "def whitening_matrix(patches, epsilon):\n"
                "    d = patches.shape[1]\n"
                "    return models.whitening_kernel(patches.reshape(-1, 1, d // 3, 3), 1, epsilon).reshape(d, 2 * d)\n"
            ),
        ],
        "dirac_kernel": [
            # the identity at the corner tap: a shifted copy
            (
                "def dirac_kernel(kernel_size, c_in, c_out):\n"
                "    kernel = np.zeros((kernel_size, kernel_size, c_in, c_out), np.float32)\n"
                "    k = np.arange(min(c_in, c_out))\n"
                "    kernel[0, 0, k, k] = 1.0\n"
                "    return kernel\n"
            ),
            # every input channel to every output channel
            (
                "def dirac_kernel(kernel_size, c_in, c_out):\n"
                "    kernel = np.zeros((kernel_size, kernel_size, c_in, c_out), np.float32)\n"
                "    kernel[kernel_size // 2, kernel_size // 2] = 1.0\n"
                "    return kernel\n"
            ),
        ],
    },
}

PROBE = """# wrong-solution probe (added by the test suite): this version must fail the check above
import contextlib as _contextlib
import hashlib as _hashlib
import io as _io
import linecache as _linecache


def _define(source):
    # run a solution cell as the kernel would, its code kept where `checks.follows_rule` reads it
    # (named by its text, so two versions never share a name, whatever linecache evicts)
    filename = f"<wrong-solution-probe-{{_hashlib.sha256(source.encode()).hexdigest()[:16]}}>"
    _linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), globals())


def _check_output(source):
    printed = _io.StringIO()
    try:
        with _contextlib.redirect_stdout(printed):
            exec(source, globals())
    except Exception as error:
        return f"{{printed.getvalue()}}raised {{type(error).__name__}}"
    return printed.getvalue()


_right = _check_output({check!r})
_define({wrong!r})
_wrong = _check_output({check!r})
_define({solution!r})
assert _wrong != _right, "this wrong solution passes the check:\\n" + {wrong!r}
"""


def exercise_name(source: str) -> str | None:
    """The function an exercise cell defines (`def NAME(`), or None if the cell holds no exercise."""
    if "# BEGIN SOLUTION" not in source:
        return None
    return source.split("def ", 1)[1].split("(", 1)[0]


def probe_cells(nb: nbformat.NotebookNode, stem: str) -> int:
    """Insert a probe after each exercise's check cell for every wrong version of it; return how many."""
    cells, added = [], 0
    for index, cell in enumerate(nb.cells):
        cells.append(cell)
        previous = nb.cells[index - 1] if index else None
        name = exercise_name(previous.source) if previous is not None and previous.cell_type == "code" else None
        if name is None:
            continue
        for wrong in WRONG.get(stem, {}).get(name, []):
            probe = PROBE.format(check=cell.source, wrong=wrong, solution=previous.source)
            cells.append(nbformat.v4.new_code_cell(probe))
            added += 1
    nb.cells = cells
    return added
