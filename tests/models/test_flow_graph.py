"""The flow graph model: nodes and edges from a flow, layout, live state, breakpoints, dry run."""

from __future__ import annotations

from app.models.debug_records import BreakpointInfo
from app.models.dry_run import DryRunResult
from app.models.flow_graph import HEADER_HEIGHT, NODE_WIDTH, FlowGraph
from app.models.graph_layout import compute_layout
from app.models.records import FlowInfo
from app.models.run_state import NodeRunState, NodeStatus

FLOW = {
    "flow_id": "etl",
    "routines": {
        "reader": {
            "class_name": "Reader",
            "slots": ["input"],
            "events": ["record", "done"],
        },
        "writer": {"class_name": "Writer", "slots": ["input", "flush"], "events": []},
    },
    "connections": [
        {
            "source_routine": "reader",
            "source_event": "record",
            "target_routine": "writer",
            "target_slot": "input",
        },
        {
            "source_routine": "reader",
            "source_event": "done",
            "target_routine": "writer",
            "target_slot": "flush",
        },
        {
            "source_routine": "reader",
            "source_event": "x",
            "target_routine": "ghost",
            "target_slot": "in",
        },
    ],
    "entry_routines": ["reader"],
}


def make_graph(qtbot=None):
    graph = FlowGraph()
    graph.set_flow(FlowInfo.from_json(FLOW))
    return graph


def breakpoint_info(routine, kind="slot", slot=None, event=None, **extra):
    return BreakpointInfo.from_json(
        {
            "breakpoint_id": f"bp-{routine}-{kind}-{slot or event}",
            "flow_id": extra.pop("flow_id", "etl"),
            "routine_id": routine,
            "kind": kind,
            "slot_name": slot,
            "event_name": event,
            **extra,
        }
    )


def test_nodes_and_edges_come_from_the_flow():
    graph = make_graph()

    assert list(graph.nodes) == ["reader", "writer"]
    reader = graph.nodes["reader"]
    assert reader.class_name == "Reader"
    assert reader.slots == ("input",)
    assert reader.events == ("record", "done")
    assert reader.is_entry
    assert not graph.nodes["writer"].is_entry
    # The connection to an unknown routine is left out.
    assert [edge.label for edge in graph.edges] == [
        "reader.record -> writer.input",
        "reader.done -> writer.flush",
    ]


def test_node_height_grows_with_ports():
    graph = make_graph()

    one_row = graph.nodes["reader"].size[1] - 20.0
    assert graph.nodes["reader"].size == graph.nodes["writer"].size
    assert graph.nodes["reader"].size[0] == NODE_WIDTH
    assert one_row > HEADER_HEIGHT


def test_layout_positions_and_port_anchors(qtbot):
    graph = make_graph()
    boxes, links, roots = graph.layout_input()

    with qtbot.waitSignal(graph.layout_changed):
        assert graph.set_layout(compute_layout(boxes, links, roots=roots), "etl")

    reader_x, reader_y = graph.position("reader")
    writer_x, _ = graph.position("writer")
    assert writer_x > reader_x + NODE_WIDTH
    event_x, event_y = graph.event_anchor("reader", "done")
    assert event_x == reader_x + NODE_WIDTH
    assert event_y == reader_y + graph.nodes["reader"].port_y(1)
    slot_x, _ = graph.slot_anchor("writer", "flush")
    assert slot_x == writer_x


def test_layout_of_another_flow_is_dropped():
    graph = make_graph()

    assert not graph.set_layout(compute_layout([], []), "other")
    assert graph.layout is None


def test_state_changes_name_the_changed_routines(qtbot):
    graph = make_graph()
    graph.set_job("job-1")
    running = NodeRunState(runs=1, running=1)

    with qtbot.waitSignal(graph.states_changed) as blocker:
        graph.set_states({"reader": running, "unknown": running})

    assert blocker.args == [["reader"]]
    assert graph.state("reader").status is NodeStatus.RUNNING
    assert graph.state("writer").status is NodeStatus.IDLE
    with qtbot.assertNotEmitted(graph.states_changed):
        graph.set_states({"reader": running})


def test_selecting_no_job_resets_states(qtbot):
    graph = make_graph()
    graph.set_job("job-1")
    graph.set_states(
        {"reader": NodeRunState(runs=3, completed=3, last_status=NodeStatus.COMPLETED)}
    )

    with qtbot.waitSignal(graph.states_changed):
        graph.set_job(None)

    assert graph.state("reader").runs == 0


def test_breakpoints_are_grouped_per_port(qtbot):
    graph = make_graph()
    items = [
        breakpoint_info("writer", slot="flush", condition="x > 1"),
        breakpoint_info("reader", kind="routine"),
        breakpoint_info("reader", kind="event"),  # every event
        breakpoint_info("writer", slot="input", flow_id="other"),
    ]

    with qtbot.waitSignal(graph.breakpoints_changed) as blocker:
        graph.set_breakpoints(items)

    assert sorted(blocker.args[0]) == ["reader", "writer"]
    flush = graph.port_breakpoints("writer", "slot", "flush")
    assert [item.condition for item in flush] == ["x > 1"]
    assert graph.port_breakpoints("writer", "slot", "input") == ()
    assert len(graph.port_breakpoints("reader", "routine", None)) == 1
    assert len(graph.port_breakpoints("reader", "event", "record")) == 1
    assert len(graph.port_breakpoints("reader", "event", "done")) == 1


def test_dry_run_marks_path_and_findings(qtbot):
    graph = make_graph()
    result = DryRunResult.from_json(
        {
            "dry_run_id": "d1",
            "status": "failed",
            "result": {
                "execution_path": [
                    {"routine_id": "reader", "depth": 0, "via": []},
                    {
                        "routine_id": "writer",
                        "depth": 1,
                        "via": ["reader.record -> writer.input"],
                    },
                ],
                "validation_errors": [
                    {
                        "code": "ROUTINE_UNREACHABLE",
                        "message": "m",
                        "routine_id": "writer",
                    }
                ],
                "warnings": [
                    {
                        "code": "CYCLE",
                        "message": "c",
                        "routine_id": "reader",
                        "routines": ["reader", "writer"],
                    }
                ],
            },
        }
    )

    with qtbot.waitSignal(graph.dry_run_changed):
        graph.set_dry_run(result)

    assert graph.path_index("reader") == 0
    assert graph.path_index("writer") == 1
    assert graph.on_path(graph.edges[0])
    assert not graph.on_path(graph.edges[1])
    assert [f.code for f in graph.findings("writer")] == [
        "ROUTINE_UNREACHABLE",
        "CYCLE",
    ]
    assert [f.code for f in graph.findings("reader")] == ["CYCLE"]

    graph.set_dry_run(None)
    assert graph.path_index("reader") is None
    assert graph.findings("writer") == ()


def test_new_flow_clears_everything(qtbot):
    graph = make_graph()
    graph.set_job("job-1")
    graph.set_breakpoints([breakpoint_info("reader", kind="routine")])

    with qtbot.waitSignal(graph.flow_changed):
        graph.set_flow(None)

    assert graph.nodes == {}
    assert graph.job_id is None
    assert graph.breakpoints("reader") == ()
