"""The shape checkers used by the simulator tests catch what they are meant to catch."""

from __future__ import annotations

from tests.simulator.support import SwaggerModel, merge_shapes, shape_errors

EXAMPLE = {"orders": [{"orderId": "1", "proceeds": {"grandTotal": {"amount": "1.00"}}, "items": []}]}


def test_shape_errors_flags_unknown_keys_and_other_types() -> None:
    shape = merge_shapes([EXAMPLE])
    assert shape_errors(EXAMPLE, shape) == []
    assert shape_errors({"orders": [{"orderId": 1}]}, shape) == [
        "$.orders[0].orderId: number, the examples have ['string']"
    ]
    assert shape_errors({"orders": [{"buyerName": "x"}]}, shape) == [
        "$.orders[0].buyerName: not in the vendor examples"
    ]
    assert shape_errors({"orders": [{"items": [1]}]}, shape) == [
        "$.orders[0].items: the examples only have empty arrays here"
    ]


def test_swagger_model_checks_types_required_keys_enums_and_extra_keys() -> None:
    model = SwaggerModel(
        {
            "definitions": {
                "Report": {
                    "type": "object",
                    "required": ["reportId"],
                    "properties": {
                        "reportId": {"type": "string"},
                        "count": {"type": "integer"},
                        "status": {"type": "string", "enum": ["DONE"]},
                        "createdTime": {"type": "string", "format": "date-time"},
                    },
                }
            }
        }
    )
    assert (
        model.errors({"reportId": "1", "count": 2, "status": "DONE", "createdTime": "2026-01-01T00:00:00Z"}, "Report")
        == []
    )
    assert model.errors({"count": 1.5, "status": "LATE", "createdTime": "soon", "extra": True}, "Report") == [
        "$.reportId: required",
        "$.count: expected integer, got 1.5",
        "$.status: 'LATE' not in ['DONE']",
        "$.createdTime: 'soon' is not a date-time",
        "$.extra: not in the model",
    ]
