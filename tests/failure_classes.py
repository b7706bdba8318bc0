"""The failure classes of the hostile review (issue 12) and the tests that hold each one.

``FAILURE_CLASSES`` maps a class number to ``(title, tests, cases)``: pytest node ids of
test functions (``file::function``, every parametrization counted) and keys of
tests/reliability_cases.py (every entry point counted). tools/reliability_table.py writes
the count of each class into docs/reliability.md ("Failure classes"), counting the
functions' items with ``pytest --collect-only``; the guarantee of each class is the page's
prose. A test that is renamed or deleted fails tests/test_reliability.py.
"""

from __future__ import annotations

U, N, C, P = (
    "tests/test_untrusted_files.py",
    "tests/test_no_data_loss.py",
    "tests/test_checkpoint.py",
    "tests/test_persistence.py",
)

FAILURE_CLASSES = {
    1: (
        "Untrusted files have bounded cost",
        [
            f"{U}::test_every_crafted_file_is_small",
            f"{U}::test_each_crafted_file_is_refused_with_its_reason",
            f"{U}::test_the_budget_refuses_what_it_must_and_a_stated_one_reads_it",
            f"{U}::test_a_labels_file_costs_a_few_bytes_per_line",
            f"{U}::test_refusing_a_crafted_file_costs_at_most_256_mb_and_2_cpu_seconds",
            "tests/test_user_mistakes.py::test_a_non_regular_file_is_refused_at_once_by_every_reader",
            f"{P}::test_header_claiming_huge_array_is_refused",
            f"{P}::test_compressed_members_are_refused",
            f"{P}::test_duplicated_member_is_refused",
        ],
        [],
    ),
    2: (
        "The user's data is never destroyed",
        [
            f"{N}::test_an_output_onto_an_input_is_refused_and_the_input_kept",
            f"{N}::test_an_output_onto_an_input_through_another_name_is_refused",
            f"{N}::test_a_failed_write_leaves_the_old_file_and_no_temporary",
            f"{N}::test_failed_predictions_leave_the_old_predictions",
            f"{N}::test_resaving_keeps_the_files_permissions",
            f"{N}::test_a_killed_writers_temporary_is_removed_by_the_next_write",
            f"{N}::test_checkpoint_rotation_keeps_the_checkpoints_mode",
            f"{C}::test_a_corrupt_latest_checkpoint_never_replaces_the_good_previous_one",
            f"{C}::test_rotation_tolerates_another_writer_moving_the_file_first",
            "tests/test_checkpoint_faults.py::"
            "test_sigkill_inside_rotation_always_leaves_a_checkpoint_that_resumes_bit_identically",
            f"{P}::test_failed_write_keeps_the_previous_file",
        ],
        [],
    ),
    3: (
        "Resume verifies what it resumes",
        [
            f"{C}::test_resume_refuses_a_checkpoint_of_other_data",
            f"{C}::test_resume_refuses_a_checkpoint_of_another_fit",
            f"{C}::test_a_checksum_valid_but_inconsistent_checkpoint_is_refused",
        ],
        ["resume: checkpoint of other data", "resume: both checkpoints corrupt"],
    ),
    4: (
        "Estimator state is all or nothing",
        [
            "tests/test_fitting.py::test_a_failed_fit_leaves_the_fitted_model_as_it_was",
            "tests/test_estimator.py::"
            "test_set_params_between_partial_fit_calls_takes_effect_and_progress_carries_over",
            "tests/test_solver_defaults.py::"
            "test_partial_fit_after_a_default_fit_continues_in_its_feature_space",
        ],
        ["partial_fit: classes changed between calls", "model used before fit"],
    ),
    5: (
        "What goes in comes out, with its type",
        [f"{P}::test_labels_keep_their_type_through_save_and_load"],
        ["y: NaN among object labels", "y: strings for a model of int labels"],
    ),
    6: (
        "Inputs are never modified, whatever their kind",
        [
            "tests/test_out_of_core.py::test_a_copy_on_write_memmap_is_read_with_its_changes_in_memory",
            "tests/test_out_of_core.py::test_a_memmap_whose_file_was_deleted_still_trains",
        ],
        [
            "caller's arrays",
            "layout: C float64",
            "layout: F float64",
            "layout: C float32",
            "layout: F float32",
            "layout: strided view",
            "layout: int64",
        ],
    ),
    7: (
        "No silent numerical failure",
        ["tests/test_solver_defaults.py::test_features_near_1e160_standardize_without_overflow"],
        [
            "X: finite rows whose scores overflow",
            "X: finite values whose float64 sum overflows",
            "scores: NaN in S (loss nodes)",
            "y: class index -1 (loss nodes)",
            "y: one label for every row (loss nodes)",
            "b: one bias for every class (linear nodes)",
            "dS: scores of one row for many (linear_backward)",
            "X: features that W does not have (linear_forward)",
            "X: columns 1e6 apart in scale, used raw",
            "a finite loss that grows 1000 times: training diverges",
        ],
    ),
    8: (
        "A library call leaves process state as it found it",
        [
            "tests/test_process_state.py::test_predicting_from_four_threads_restores_the_blas_threads",
            "tests/test_process_state.py::"
            "test_overlapping_regions_keep_the_first_limit_until_the_last_one_closes",
        ],
        [],
    ),
    9: (
        "Every user mistake is one clear message",
        [
            "tests/test_user_mistakes.py::test_a_model_file_whose_extra_is_not_a_dict_is_refused_naming_it",
            "tests/test_user_mistakes.py::test_save_refuses_an_extra_that_is_not_a_dict",
            "tests/test_user_mistakes.py::test_a_negative_seed_is_a_usage_error",
            "tests/test_datafiles.py::test_npz_labels_must_be_finite_numbers_or_strings",
        ],
        [
            "X: ragged nested lists",
            "y: a sparse matrix",
            "sample_weight: a sparse matrix",
            "class_weight: a tuple key",
            "classes: a number",
            "seed: a string",
            "detect_kinks: a string",
            "resume: a string",
            "callbacks: a number among them",
            "checkpoint_path: a number",
            "X: sparse matrix with NaN",
        ],
    ),
    10: (
        "Distributed edge cases",
        [
            f"tests/test_distributed_edges.py::{name}"
            for name in (
                "test_an_empty_chunk_is_skipped",
                "test_boolean_filtering_that_empties_a_chunk_trains_on_the_rows_kept",
                "test_a_chunk_of_zero_weights_is_skipped",
                "test_weights_whose_sum_overflows_are_scaled_by_the_largest_of_all_chunks",
                "test_error_positions_are_rows_of_the_whole_of_X",
                "test_a_length_mismatch_is_one_error_naming_both_lengths",
                "test_data_with_nothing_to_train_on_is_refused",
                "test_bad_settings_are_refused_before_any_work_is_sent",
                "test_lost_scattered_data_is_one_clear_error_and_the_estimator_is_unchanged",
            )
        ],
        [],
    ),
    11: (
        "The suite is deterministic",
        [
            "tests/test_properties.py::"
            "test_the_examples_do_not_depend_on_the_modules_the_run_has_loaded",
            "tests/test_distributed.py::"
            "test_a_worker_killed_mid_round_is_replaced_and_the_fit_completes",
        ],
        [],
    ),
}
