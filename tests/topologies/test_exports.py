"""The public face of topologies is exactly this list."""

import topologies
import topologies.files


def test_all_is_the_expected_list() -> None:
    assert sorted(topologies.__all__) == [
        "FILE_SUFFIXES",
        "KINDS",
        "TopologyError",
        "barabasi_albert",
        "complete",
        "erdos_renyi",
        "from_json",
        "from_spec",
        "grid",
        "load",
        "max_degree",
        "metropolis_weights",
        "path",
        "random_geometric",
        "random_regular",
        "ring",
        "spectral_gap",
        "star",
        "to_json",
        "torus",
        "validate",
        "watts_strogatz",
    ]


def test_every_exported_name_exists() -> None:
    for name in topologies.__all__:
        assert hasattr(topologies, name)


def test_no_public_name_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(topologies).items()
        if not name.startswith("_") and not isinstance(value, type(topologies))
    }
    assert public == set(topologies.__all__)


def test_topology_error_is_a_value_error() -> None:
    assert issubclass(topologies.TopologyError, ValueError)


def test_the_files_sub_package_has_its_own_face() -> None:
    assert topologies.files.__all__ == ["FILE_SUFFIXES", "load"]
    assert topologies.files.load is topologies.load
    assert topologies.files.FILE_SUFFIXES is topologies.FILE_SUFFIXES
