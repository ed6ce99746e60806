"""Every mistake of the list is named: a submission with exactly that bug gets exactly that
diagnosis, in the step where the bug is; the reference gets none."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, fixture_submission, grade


def _diagnosed(names):
    return sorted(n for n in names if "diagnosis" in json.loads(
        (FIXTURES / n / "mutation.json").read_text(encoding="utf-8")))


MISTAKES = _diagnosed(p.parent.name for p in FIXTURES.glob("*/mutation.json")
                      if "step" in json.loads(p.read_text(encoding="utf-8")))


def test_every_mistake_of_the_list_has_a_fixture():
    # The list, by fixture: each needs at least one submission making that mistake.
    wanted = ["add_overwrites_grad", "backward_no_seed", "backward_input_first",
              "backward_no_visited_set", "backward_recursive_without_order", "add_not_linked",
              "mul_backward_on_wrong_node", "mul_ignores_upstream", "mul_not_swapped",
              "tanh_derivative_from_input", "tanh_overflows", "add_constant_not_wrapped",
              "neuron_without_bias", "neuron_without_tanh", "neuron_bias_not_a_parameter",
              "neuron_shared_weight", "neuron_weights_from_0_to_1",
              "training_never_zeroes_grads", "training_steps_uphill", "training_never_updates"]
    assert set(wanted) <= set(MISTAKES)
    # Issue 19's list: mistakes a new student made, and held-out single bugs, unnamed before.
    wanted = ["tanh_one_minus_t_not_squared", "mul_second_line_copied",
              "tanh_stable_form_loses_sign", "backward_resets_during_walk",
              "value_hashed_by_data", "training_clears_between_backward_and_update",
              "activations_exp_from_input", "activations_sigmoid_overflows_for_positive",
              "activations_sigmoid_from_input", "softmax_cross_entropy_log_of_softmax",
              "classifier_one_based_targets", "classifier_shuffles_inputs_alone",
              "given_predict_returns_score", "classifier_never_clears_grads",
              "given_radd_deleted", "neuron_weights_all_zero", "tanh_children_not_a_tuple",
              "mul_misspelt_data", "tanh_with_numpy", "training_clears_inside_example_loop"]
    assert set(wanted) <= set(MISTAKES)
    assert (FIXTURES / "realbug_loss_not_squared" / "bug.json").exists()


@pytest.mark.parametrize("name", MISTAKES)
def test_the_mistake_is_named_in_its_step(name, graded_fixture):
    spec = json.loads((FIXTURES / name / "mutation.json").read_text(encoding="utf-8"))
    result = graded_fixture(name)
    step = result.step(spec["step"])
    diagnoses = [c.diagnosis for c in step.checks if c.diagnosis and c.weight > 0]
    assert diagnoses, f"{name}: no diagnosis; messages: {[c.message for c in step.checks]}"
    # The first one shown names this mistake, and no check of the step names another.
    assert spec["diagnosis"] in diagnoses[0], (name, diagnoses)
    assert all(spec["diagnosis"] in d for d in diagnoses), (name, diagnoses)


def test_the_reference_gets_no_diagnosis(solutions_result):
    assert [c.diagnosis for s in solutions_result.steps for c in s.checks if c.diagnosis] == []


def test_deep_recursion_is_advice_not_a_penalty(tmp_path):
    result = grade(fixture_submission("advice_recursive_backward", tmp_path))
    assert result.score == 100
    backward = result.step("backward")
    assert backward.state == "passed"
    notes = [c for c in backward.checks if c.weight == 0 and not c.passed]
    assert len(notes) == 1 and "walk with a stack of your own" in notes[0].diagnosis
    # The graded chain of 300 (under the depth limit) passes with recursion.
    assert all(c.passed for c in backward.checks if c.weight > 0)
