"""gcloud's --format language: a table of examples (resources + format -> exact output), and
the CLI printing real jobs with value(...), table(...), csv(...), --flatten and bad formats."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import SKLEARN, Server
from test_cli import at, vertexd
from vertexd.cli.formats import FormatError, UnknownFormat, flatten, parse, render

JOB: dict[str, Any] = {
    "name": "projects/p/locations/us-central1/customJobs/123",
    "displayName": "train, v1",
    "state": "JOB_STATE_SUCCEEDED",
    "createTime": "2024-03-05T07:08:09.123456Z",
    "labels": {"team": "ml", "env": "dev"},
    "jobSpec": {
        "workerPoolSpecs": [
            {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"},
            {"machineSpec": {"machineType": "n1-highmem-8"}, "replicaCount": "2"},
        ]
    },
}
OTHER: dict[str, Any] = {
    "name": "projects/p/locations/us-central1/customJobs/45",
    "displayName": "eval",
    "state": "JOB_STATE_RUNNING",
    "jobSpec": {"workerPoolSpecs": []},
}
JOBS = [JOB, OTHER]

EXAMPLES: list[tuple[str, str]] = [
    # value: tab between fields, ";" between list items, "k=v" for a mapping, no heading.
    ("value(name)", f"{JOB['name']}\n{OTHER['name']}\n"),
    ("value(state)", "JOB_STATE_SUCCEEDED\nJOB_STATE_RUNNING\n"),
    ("value(name.basename(), state)", "123\tJOB_STATE_SUCCEEDED\n45\tJOB_STATE_RUNNING\n"),
    ("value(jobSpec.workerPoolSpecs[0].machineSpec.machineType)", "n1-standard-4\n\n"),
    ("value(jobSpec.workerPoolSpecs[-1].replicaCount)", "2\n\n"),
    ("value(jobSpec.workerPoolSpecs[].machineSpec.machineType)", "n1-standard-4;n1-highmem-8\n\n"),
    ("value(labels)", "env=dev;team=ml\n\n"),
    ("value(missing, state)", "\tJOB_STATE_SUCCEEDED\n\tJOB_STATE_RUNNING\n"),
    ("value(jobSpec.workerPoolSpecs.len())", "2\n0\n"),
    ("value(createTime.date())", "2024-03-05T07:08:09\n\n"),
    ("value(createTime.date('%Y-%m-%d %H:%M'))", "2024-03-05 07:08\n\n"),
    ('value(createTime.date(format="%d/%m/%Y"))', "05/03/2024\n\n"),
    (
        'value[separator=","](name.basename(), state)',
        "123,JOB_STATE_SUCCEEDED\n45,JOB_STATE_RUNNING\n",
    ),
    ('value[delimiter=" "](labels)', "env=dev team=ml\n\n"),
    ("value[quote,separator=','](displayName)", '"train, v1"\neval\n'),
    ("value(displayName)", "train, v1\neval\n"),
    # table: ANGRY_SNAKE_CASE headings of the key's last name, two spaces, last column unpadded.
    (
        "table(name.basename():label=ID, displayName, state)",
        "ID   DISPLAY_NAME  STATE\n"
        "123  train, v1     JOB_STATE_SUCCEEDED\n"
        "45   eval          JOB_STATE_RUNNING\n",
    ),
    (
        "table(name.basename(), jobSpec.workerPoolSpecs[0].machineSpec.machineType, createTime)",
        "NAME  MACHINE_TYPE   CREATE_TIME\n123   n1-standard-4  2024-03-05T07:08:09.123456Z\n45\n",
    ),
    (
        "table[no-heading](name.basename(), state)",
        "123  JOB_STATE_SUCCEEDED\n45   JOB_STATE_RUNNING\n",
    ),
    (
        "table(state, name.basename())",
        "STATE                NAME\nJOB_STATE_SUCCEEDED  123\nJOB_STATE_RUNNING    45\n",
    ),
    ("table(name.basename():sort=1)", "NAME\n123\n45\n"),
    ("table(name.basename():sort=1:reverse)", "NAME\n45\n123\n"),
    (
        "table(name.basename():align=right:label=ID, state)",
        " ID  STATE\n123  JOB_STATE_SUCCEEDED\n 45  JOB_STATE_RUNNING\n",
    ),
    # a name already used as a heading gets the names to its left.
    (
        "table(name, labels.name)",
        f"{'NAME'.ljust(len(JOB['name']))}  LABELS_NAME\n{JOB['name']}\n{OTHER['name']}\n",
    ),
    (
        "table[pad=1](name.basename(), state)",
        "NAME STATE\n123  JOB_STATE_SUCCEEDED\n45   JOB_STATE_RUNNING\n",
    ),
    # csv: lower-case headings, quoted only when needed.
    (
        "csv(name.basename():label=id, displayName, state)",
        'id,display_name,state\n123,"train, v1",JOB_STATE_SUCCEEDED\n45,eval,JOB_STATE_RUNNING\n',
    ),
    ("csv[no-heading](name.basename(), labels)", "123,env=dev;team=ml\n45,\n"),
    (
        'csv[separator=";"](name.basename(), state)',
        "name;state\n123;JOB_STATE_SUCCEEDED\n45;JOB_STATE_RUNNING\n",
    ),
    # list: " - " then the items, one per line, indented.
    (
        "list(name.basename(), state)",
        " - 123\n   JOB_STATE_SUCCEEDED\n - 45\n   JOB_STATE_RUNNING\n",
    ),
    (
        "list[compact](name.basename(), state)",
        " - 123 JOB_STATE_SUCCEEDED\n - 45 JOB_STATE_RUNNING\n",
    ),
    ("none", ""),
    (
        "json(name.basename(), state)",
        '[\n  {\n    "name": "123",\n    "state": "JOB_STATE_SUCCEEDED"\n  },\n'
        '  {\n    "name": "45",\n    "state": "JOB_STATE_RUNNING"\n  }\n]\n',
    ),
    ("yaml(state)", "- state: JOB_STATE_SUCCEEDED\n- state: JOB_STATE_RUNNING\n"),
]


@pytest.mark.parametrize(("expression", "expected"), EXAMPLES)
def test_format_examples(expression: str, expected: str) -> None:
    assert render(JOBS, expression) == expected


def test_a_single_resource_is_one_record() -> None:
    assert render(JOB, "value(state)", single=True) == "JOB_STATE_SUCCEEDED\n"
    assert render(JOB, "yaml(state)", single=True) == "state: JOB_STATE_SUCCEEDED\n"
    assert render({"a": 1, "b": None}, "list", single=True) == " - a: 1\n"


def test_an_empty_list_prints_nothing_but_json() -> None:
    assert render([], "table(name)") == "" and render([], "csv(name)") == ""
    assert render([], "json") == "[]\n"


def test_flatten_makes_one_record_per_item() -> None:
    flat = flatten(JOBS, ["jobSpec.workerPoolSpecs"])
    expression = "value(name.basename(), jobSpec.workerPoolSpecs.machineSpec.machineType)"
    assert render(flat, expression) == "123\tn1-standard-4\n123\tn1-highmem-8\n45\t\n"


BAD: list[tuple[str, str]] = [
    ("table(name", "Expected ) in projection expression [table(name *HERE* ]."),
    ("table(name,,state)", "Key name expected [table(name, *HERE* ,state)]."),
    ("table[no-heading(name)", "Expected ] in attribute list [table[no-heading *HERE* (name)]."),
    ("value(name.shout())", "Unknown transform function shout [value(name.shout( *HERE* ))]."),
    ("table(name:colour=red)", "Unknown key attribute [table(name: *HERE* colour=red)]."),
    ("value(a[x])", "Integer index expected [value(a[ *HERE* x])]."),
    ("table", "Format [table] requires a non-empty projection."),
    ("value() junk", "Parse error near [value()  *HERE* junk]."),
    ("value(name) junk", "Parse error near [value(name)  *HERE* junk]."),
    ("value('name)", "Unterminated quoted string [value( *HERE* 'name)]."),
]


@pytest.mark.parametrize(("expression", "message"), BAD)
def test_bad_formats_say_where(expression: str, message: str) -> None:
    with pytest.raises(FormatError) as error:
        parse(expression)
    assert str(error.value) == message


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(UnknownFormat, match=r"one of csv, json, list, none, table, value, yaml; "):
        parse("xml")


# The CLI against a real server.
PROJECT_PARENT = "projects/cli-project/locations/us-central1"


@pytest.fixture(scope="module")
def jobs(server: Server) -> list[dict[str, Any]]:
    made = []
    for display in ("fmt-a", "fmt-b"):
        pool = {
            "machineSpec": {"machineType": "n1-standard-4"},
            "replicaCount": "1",
            "pythonPackageSpec": {
                "executorImageUri": SKLEARN,
                "packageUris": ["/nonexistent/trainer.tar.gz"],
                "pythonModule": "trainer.task",
            },
        }
        job = {"displayName": display, "jobSpec": {"workerPoolSpecs": [pool]}}
        created = server.create(job, parent=PROJECT_PARENT)
        assert created.status_code == 200, created.text
        made.append(created.json()["name"])
    ends = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")
    return [server.wait_for(name, *ends) for name in made]


def listed(server: Server, *flags: str) -> str:
    done = vertexd(*at(server, "custom-jobs", "list", *flags))
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_cli_value_table_and_csv(server: Server, jobs: list[dict[str, Any]]) -> None:
    newest_first = sorted(jobs, key=lambda job: job["createTime"], reverse=True)
    by_name = sorted(jobs, key=lambda job: job["displayName"])
    a, b = by_name
    names = listed(server, "--format=value(name)", "--sort-by=displayName")
    assert names == f"{a['name']}\n{b['name']}\n"
    described = vertexd(*at(server, "custom-jobs", "describe", a["name"], "--format=value(state)"))
    assert described.returncode == 0, described.stderr
    assert described.stdout == f"{a['state']}\n"
    table = listed(server, "--format=table(displayName, state)", "--sort-by=~createTime")
    width = len("DISPLAY_NAME")
    assert table == "".join(
        f"{text.ljust(width)}  {state}\n".replace("  \n", "\n")
        for text, state in [("DISPLAY_NAME", "STATE")]
        + [(job["displayName"], job["state"]) for job in newest_first]
    )
    csv = listed(
        server,
        "--format=csv(name.basename():label=ID,displayName)",
        "--limit=1",
        "--sort-by=displayName",
    )
    # csv lower-cases every heading, explicit labels too, as gcloud does.
    assert csv == f"id,display_name\n{a['name'].rsplit('/', 1)[1]},fmt-a\n"


@pytest.mark.slow
def test_cli_flatten_and_bad_formats(server: Server, jobs: list[dict[str, Any]]) -> None:
    flat = listed(
        server,
        "--flatten=jobSpec.workerPoolSpecs",
        "--format=value(displayName, jobSpec.workerPoolSpecs.machineSpec.machineType)",
        "--sort-by=displayName",
    )
    assert flat == "fmt-a\tn1-standard-4\nfmt-b\tn1-standard-4\n"
    bad = vertexd(*at(server, "custom-jobs", "list", "--format=table(name"))
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr == (
        "ERROR: (vertexd.custom-jobs.list) Expected ) in projection expression "
        "[table(name *HERE* ].\n"
    )
    unknown = vertexd(*at(server, "custom-jobs", "describe", "1", "--format=xml"))
    assert unknown.returncode == 2
    assert "argument --format: Invalid choice: 'xml'." in unknown.stderr
    empty = vertexd(
        *at(
            server, "custom-jobs", "list", "--filter=display_name=none-such", "--format=value(name)"
        )
    )
    assert empty.returncode == 0 and empty.stdout == "" and empty.stderr == "Listed 0 items.\n"
