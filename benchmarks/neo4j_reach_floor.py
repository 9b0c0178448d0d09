"""Where a large downstream walk on Neo4j spends its time: traversal, answer, client.

Asks, ``--repeat`` times each, against a Neo4j store that holds the node
``--artifact`` (``scale.py`` builds one; its shared dataset ``hub`` is
artifact 1):

* ``reach only``: the nodes reached downstream, counted on the server
  (``count(DISTINCT x)``), which is the traversal and nothing else;
* ``reach statement``: the one statement ``store.lineage.downstream`` sends,
  which returns the events leaving every reached node and the nodes' records;
* ``store.lineage.downstream``: the whole call, the walk and the protos in
  Python included.

For the two statements it reports the server's own time (the Bolt summary's
``result_available_after`` plus ``result_consumed_after``) and the client's
wall time until the answer is read; medians.

Usage::

    python benchmarks/neo4j_reach_floor.py --uri bolt://127.0.0.1:7687 --artifact 1
"""

from __future__ import annotations

import argparse
import statistics
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--artifact", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    import neo4j

    import lineage
    from lineage.backends.neo4j import DOWNSTREAM, _reach_statement
    from lineage.proto import metadata_store_pb2 as pb
    from lineage.query.cypher_compiler import EVENT_RELS

    statements = {
        "reach only": (f"MATCH (:Artifact {{id: $id}})-[:{EVENT_RELS}*0..]->(x) "
                       "WITH DISTINCT x RETURN count(x) AS n", {"id": args.artifact}),
        "reach statement": (_reach_statement(DOWNSTREAM, True, None).format(label="Artifact"),
                            {"ids": [args.artifact]}),
    }
    with neo4j.GraphDatabase.driver(args.uri, notifications_min_severity="OFF") as driver:
        for label, (query, params) in statements.items():
            server, client = [], []
            for _ in range(args.repeat):
                with driver.session() as session:
                    start = time.perf_counter()
                    result = session.run(query, **params)
                    list(result)
                    summary = result.consume()
                    client.append((time.perf_counter() - start) * 1000)
                    server.append(summary.result_available_after + summary.result_consumed_after)
            print(f"{label}: server {statistics.median(server):.0f} ms, "
                  f"client {statistics.median(client):.0f} ms")
    store = lineage.MetadataStore(pb.ConnectionConfig(neo4j=pb.Neo4jDatabaseConfig(uri=args.uri)))
    try:
        walls = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            reach = store.lineage.downstream([args.artifact])
            walls.append((time.perf_counter() - start) * 1000)
    finally:
        store.close()
    print(f"store.lineage.downstream: {statistics.median(walls):.0f} ms, "
          f"{len(reach.artifacts) + len(reach.executions)} nodes, {len(reach.events)} events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
