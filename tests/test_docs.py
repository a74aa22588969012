"""docs/protocol.md is what the code cites for its decisions: every cited anchor must exist."""
import re

from conftest import REPO

CITING = [p for d in ("sgenlib", "scripts", "notebooks", "benchmarks") for p in (REPO / d).rglob("*")
          if p.suffix in (".py", ".sh", ".md")] + [REPO / "README.md", REPO / "run_all.sh"]


def test_cited_protocol_anchors_exist():
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', (REPO / "docs" / "protocol.md").read_text()))
    cited = {(p.relative_to(REPO).as_posix(), a) for p in CITING
             for a in re.findall(r"docs/protocol\.md#([a-z0-9-]+)", p.read_text())}
    assert cited, "the code cites docs/protocol.md nowhere"
    missing = sorted((f, a) for f, a in cited if a not in anchors)
    assert not missing, f"anchors cited but not in docs/protocol.md: {missing}"
