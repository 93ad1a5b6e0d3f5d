"""Where the quantized-model header writer lived before pygru.export served
every format; these names stay for code that imported them."""
from .export import export_c as export_quantized_c  # noqa: F401
from .export import render_header


def render_quantized_header(qmodel, name="model", self_test_steps=None, filename=None):
    return render_header(qmodel, name, self_test_steps, filename=filename)

