set -e
OF=/work/main/.venv/bin/opsflow
export OPSFLOW_DATABASE_URL=sqlite:////tmp/olddb/old.db
# run 1: content publishing, finished
$OF start sops/content-publishing.sop --as cara --title "ACME spring campaign" --role writer=wendy --role editor=ed --role account=cara --role client=carol,dave --role seo=sam --role finance=fin --field budget=12000
$OF tick 1 1 --as wendy; $OF tick 1 2 --as wendy; $OF handoff 1 --as wendy
$OF tick 1 1 --as wendy; $OF tick 1 2 --as wendy; $OF handoff 1 --as wendy
$OF approve 1 --as ed --comment "Reads well"
$OF reject 1 --as carol --comment "Wrong name" || true
$OF approve 1 --as dave --comment ok
$OF approve 1 --as fin --comment "in budget"
$OF tick 1 1 --as ed; $OF handoff 1 --as ed
# run 2: purchase request, mid finance vote, with a refusal
$OF start sops/purchase-request.sop --as fay --title "Laptops" --role requester=rita --role manager=max --role finance=fay,fred --role cfo=cf --role procurement=pro --role it=ivan --field amount=7000 --field category=services
$OF tick 2 1 --as rita; $OF tick 2 2 --as rita; $OF tick 2 3 --as rita; $OF handoff 2 --as rita
$OF approve 2 --as rita || true
$OF approve 2 --as max --comment "needed"
$OF approve 2 --as fay --comment "ok"
$OF set 2 supplier "Acme GmbH" --as fay
# run 3: onboarding, in the parallel block
$OF start sops/employee-onboarding.sop --as pat --title "Nina joins" --role people-ops=pat --role manager=max --role it=ivan --role buddy=bud --role new-hire=nina --role finance=fin --field start-date=2027-03-01 --field work-location=remote --field laptop=standard
$OF tick 3 1 --as pat; $OF tick 3 2 --as pat; $OF tick 3 3 --as pat; $OF handoff 3 --as pat
$OF tick 3 1 --as ivan --phase it-setup
$OF reassign 3 buddy bea --as max
# run 4: cancelled
$OF start sops/incident-response.sop --as x --title "Outage" $(grep -o '^role [a-z-]*' sops/incident-response.sop | awk '{printf "--role %s=p%s ", $2, NR}') || true
