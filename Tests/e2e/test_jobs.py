"""Jobs, CronJobs, TTL-after-finished and pod GC with the real kubectl on simulated nodes.

Simulated pods finish through the sim.skiff.dev/exit-code and sim.skiff.dev/run-seconds
annotations (see Sources/SkiffKubelet/SimulatedContainerExit.swift). The server runs with
the Job controller's back-off shortened (--job-backoff-base-seconds, test-only) so that
failing Jobs end in seconds."""

import json
import re
import time

import pytest

from conftest import KUBECTL_VERSIONS, Kubectl, in_fresh_namespace, kubectl_binary, simulated_cluster, wait_for


@pytest.fixture(scope="module")
def jobs_cluster():
    yield from simulated_cluster(["--job-backoff-base-seconds", "0.2"])


@pytest.fixture
def kj(jobs_cluster):
    return in_fresh_namespace(jobs_cluster)


def job_manifest(name, exit_code=0, run_seconds=0, restart="Never", **spec):
    template = {
        "metadata": {"annotations": {"sim.skiff.dev/exit-code": str(exit_code), "sim.skiff.dev/run-seconds": str(run_seconds)}},
        "spec": {"restartPolicy": restart, "containers": [{"name": "main", "image": "busybox:1.36"}]},
    }
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {"template": template, **spec}}


def apply(k, obj):
    k("apply", "-f", "-", input=json.dumps(obj))


def get(k, kind, name):
    return json.loads(k("get", kind, name, "-o", "json"))


def job_pods(k, name, live=True):
    items = json.loads(k("get", "pods", "-l", f"batch.kubernetes.io/job-name={name}", "-o", "json"))["items"]
    return [p for p in items if not live or not p["metadata"].get("deletionTimestamp")]


def condition(obj, type_):
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == type_ and c["status"] == "True"), None)


def test_job_runs_to_completion_within_parallelism(kj):
    apply(kj, job_manifest("work", run_seconds=1, completions=4, parallelism=2))
    most_running = 0
    deadline = time.time() + 60
    while time.time() < deadline and not condition(get(kj, "job", "work"), "Complete"):
        running = [p for p in job_pods(kj, "work") if p.get("status", {}).get("phase") in (None, "Pending", "Running")]
        most_running = max(most_running, len(running))
        time.sleep(0.2)
    kj("wait", "--for=condition=complete", "job/work", "--timeout=30s")
    assert 1 <= most_running <= 2
    job = get(kj, "job", "work")
    assert job["status"]["succeeded"] == 4
    assert job["status"].get("failed", 0) == 0
    assert job["status"]["completionTime"]
    assert condition(job, "SuccessCriteriaMet")["reason"] == "CompletionsReached"
    assert job["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "work"
    pods = job_pods(kj, "work")
    assert len(pods) == 4 and all(p["status"]["phase"] == "Succeeded" for p in pods)
    assert all(not p["metadata"].get("finalizers") for p in pods)
    main = pods[0]["status"]["containerStatuses"][0]
    assert main["state"]["terminated"]["reason"] == "Completed" and main["state"]["terminated"]["exitCode"] == 0
    # kubectl's table comes from the API server's columns.
    assert kj("get", "jobs", "work", "--no-headers").split()[:3] == ["work", "Complete", "4/4"]
    events = kj("get", "events", "--field-selector", "involvedObject.name=work", "-o", "json")
    reasons = {e["reason"] for e in json.loads(events)["items"]}
    assert {"SuccessfulCreate", "Completed"} <= reasons
    # Deleting the Job takes its pods with it.
    kj("delete", "job", "work")
    wait_for("the job's pods deleted", lambda: job_pods(kj, "work", live=False) == [])


def test_kubectl_create_job_and_wait(kj):
    kj("create", "job", "plain", "--image=busybox:1.36")
    job = get(kj, "job", "plain")
    assert job["spec"]["completions"] == 1 and job["spec"]["backoffLimit"] == 6
    assert job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == job["metadata"]["uid"]
    wait_for("a running pod", lambda: any(p.get("status", {}).get("phase") == "Running" for p in job_pods(kj, "plain")))
    # Without the simulation annotations a pod runs forever: the job stays active.
    assert get(kj, "job", "plain")["status"]["active"] == 1
    assert kj("get", "jobs", "plain", "--no-headers").split()[:3] == ["plain", "Running", "0/1"]


def test_indexed_job(kj):
    apply(kj, job_manifest("idx", completions=3, parallelism=3, completionMode="Indexed"))
    kj("wait", "--for=condition=complete", "job/idx", "--timeout=60s")
    job = get(kj, "job", "idx")
    assert job["status"]["completedIndexes"] == "0-2"
    assert job["status"]["succeeded"] == 3
    pods = job_pods(kj, "idx")
    indexes = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods)
    assert indexes == ["0", "1", "2"]
    for p in pods:
        i = p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
        assert p["spec"]["hostname"] == f"idx-{i}"
        assert p["metadata"]["name"].startswith(f"idx-{i}-")
        assert {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath":
                "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}} in p["spec"]["containers"][0]["env"]


def test_failing_job_backs_off_and_fails(kj):
    apply(kj, job_manifest("flaky", exit_code=1, backoffLimit=2))
    kj("wait", "--for=condition=failed", "job/flaky", "--timeout=60s")
    job = get(kj, "job", "flaky")
    failed = condition(job, "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert condition(job, "FailureTarget")["reason"] == "BackoffLimitExceeded"
    assert job["status"]["failed"] == 3
    pods = job_pods(kj, "flaky")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Failed" for p in pods)
    assert pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert kj("get", "jobs", "flaky", "--no-headers").split()[:3] == ["flaky", "Failed", "0/1"]
    reasons = {e["reason"] for e in json.loads(kj("get", "events", "-o", "json"))["items"]}
    assert "BackoffLimitExceeded" in reasons


def test_on_failure_restarts_count_toward_the_backoff_limit(kj):
    apply(kj, job_manifest("restarts", exit_code=3, restart="OnFailure", backoffLimit=2))
    restarted = []

    def restarted_in_place():
        restarted[:] = [s for p in job_pods(kj, "restarts", live=False) for s in p["status"].get("containerStatuses", [])
                        if s.get("restartCount", 0) >= 1]
        return restarted
    wait_for("the container restarted in place", restarted_in_place)
    last = restarted[0]["lastState"]["terminated"]
    assert last["exitCode"] == 3 and last["reason"] == "Error"
    kj("wait", "--for=condition=failed", "job/restarts", "--timeout=60s")
    assert condition(get(kj, "job", "restarts"), "Failed")["reason"] == "BackoffLimitExceeded"
    assert get(kj, "job", "restarts")["status"].get("failed", 0) == 1  # the one pod, stopped when the job failed


def test_pod_failure_policy_needs_restart_policy_never(kj):
    job = job_manifest("pfp", restart="OnFailure", podFailurePolicy={"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]})
    r = kj.run("apply", "-f", "-", input=json.dumps(job), check=False)
    assert r.returncode != 0
    assert 'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified' in r.stderr
    job = job_manifest("pfp", exit_code=42, podFailurePolicy={"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]})
    apply(kj, job)
    kj("wait", "--for=condition=failed", "job/pfp", "--timeout=60s")
    failed = condition(get(kj, "job", "pfp"), "Failed")
    assert failed["reason"] == "PodFailurePolicy"
    assert re.match(r"Container main for pod e2e-\w+/pfp-\w+ failed with exit code 42 matching FailJob rule at index 0$", failed["message"])


def test_active_deadline(kj):
    apply(kj, job_manifest("slow", run_seconds=600, activeDeadlineSeconds=2, parallelism=2, completions=2))
    kj("wait", "--for=condition=failed", "job/slow", "--timeout=60s")
    failed = condition(get(kj, "job", "slow"), "Failed")
    assert failed["reason"] == "DeadlineExceeded"
    assert failed["message"] == "Job was active longer than specified deadline"
    wait_for("no running pods", lambda: all(p["status"].get("phase") == "Failed" for p in job_pods(kj, "slow", live=False)))


def test_suspend_and_resume(kj):
    apply(kj, job_manifest("later", run_seconds=600, parallelism=2, completions=2))
    wait_for("2 running pods", lambda: len([p for p in job_pods(kj, "later") if p.get("status", {}).get("phase") == "Running"]) == 2)
    kj("patch", "job", "later", "--type=merge", "-p", '{"spec":{"suspend":true}}')
    kj("wait", "--for=condition=suspended", "job/later", "--timeout=30s")
    wait_for("the pods stopped", lambda: job_pods(kj, "later", live=False) == [])
    job = get(kj, "job", "later")
    assert job["status"].get("failed", 0) == 0 and job["status"].get("active", 0) == 0
    assert kj("get", "jobs", "later", "--no-headers").split()[:2] == ["later", "Suspended"]
    kj("patch", "job", "later", "--type=merge", "-p", '{"spec":{"suspend":false}}')
    wait_for("2 pods again", lambda: len(job_pods(kj, "later")) == 2)
    resumed = next(c for c in get(kj, "job", "later")["status"]["conditions"] if c["type"] == "Suspended")
    assert resumed["status"] == "False" and resumed["reason"] == "JobResumed"


def test_ttl_after_finished_deletes_the_job_and_its_pods(kj):
    apply(kj, job_manifest("brief", ttlSecondsAfterFinished=4))
    kj("wait", "--for=condition=complete", "job/brief", "--timeout=60s")
    wait_for("the job deleted", lambda: kj.run("get", "job", "brief", check=False).returncode != 0)
    wait_for("its pods deleted", lambda: job_pods(kj, "brief", live=False) == [])


def cronjob_manifest(name, schedule="*/1 * * * *", exit_code=0, **spec):
    job = job_manifest(name, exit_code=exit_code)
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, "jobTemplate": {"spec": job["spec"]}, **spec}}


def test_cronjob_fires_and_kubectl_shows_it(kj):
    kj("create", "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/1 * * * *")
    cj = get(kj, "cronjob", "tick")
    assert cj["spec"]["concurrencyPolicy"] == "Allow"
    assert cj["spec"]["successfulJobsHistoryLimit"] == 3 and cj["spec"]["failedJobsHistoryLimit"] == 1
    header = kj("get", "cronjobs").splitlines()[0].split()
    assert header[:4] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND"] and "ACTIVE" in header and "LAST" in header

    def fired():
        return [j for j in json.loads(kj("get", "jobs", "-o", "json"))["items"]
                if j["metadata"].get("ownerReferences", [{}])[0].get("name") == "tick"]
    wait_for("the CronJob's first Job", lambda: fired(), timeout=75)
    job = fired()[0]
    scheduled = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    minutes = int(job["metadata"]["name"].rsplit("-", 1)[1])
    assert scheduled.endswith(":00Z") and time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(minutes * 60)) == scheduled
    wait_for("status.active and lastScheduleTime", lambda: get(kj, "cronjob", "tick").get("status", {}).get("lastScheduleTime") == scheduled)
    # NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST-SCHEDULE AGE, LAST SCHEDULE now set.
    row = re.match(r"^tick\s+\*/1 \* \* \* \*\s+<none>\s+false\s+\d+\s+(\S+)\s+\S+$", kj("get", "cronjob", "tick", "--no-headers").strip())
    assert row and row.group(1) != "<none>"
    # A Job by hand from the CronJob's template.
    kj("create", "job", "by-hand", "--from=cronjob/tick")
    manual = get(kj, "job", "by-hand")
    assert manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert manual["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    wait_for("its pod", lambda: job_pods(kj, "by-hand") != [])


def test_cronjob_rejects_a_bad_schedule_and_time_zone(kj):
    r = kj.run("create", "cronjob", "bad", "--image=busybox", "--schedule=61 * * * *", check=False)
    assert r.returncode != 0 and 'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61' in r.stderr
    cj = cronjob_manifest("zone", timeZone="Mars/Olympus")
    r = kj.run("apply", "-f", "-", input=json.dumps(cj), check=False)
    assert r.returncode != 0 and 'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus' in r.stderr
    apply(kj, cronjob_manifest("tokyo", timeZone="Asia/Tokyo", suspend=True))
    assert re.match(r"^tokyo\s+\*/1 \* \* \* \*\s+Asia/Tokyo\s+true\s+0\s+<none>\s", kj("get", "cronjob", "tokyo", "--no-headers"))


def test_history_limits_keep_the_newest_finished_jobs(kj):
    # Suspended, so only Jobs made by hand from it run; the limits still apply to them.
    apply(kj, cronjob_manifest("hist", suspend=True, successfulJobsHistoryLimit=1, failedJobsHistoryLimit=1))
    for i in range(3):
        kj("create", "job", f"hist-ok-{i}", "--from=cronjob/hist")
        kj("wait", "--for=condition=complete", f"job/hist-ok-{i}", "--timeout=60s")
    wait_for("only the newest successful Job kept",
             lambda: sorted(j["metadata"]["name"] for j in json.loads(kj("get", "jobs", "-o", "json"))["items"]
                            if not j["metadata"].get("deletionTimestamp")) == ["hist-ok-2"])
    assert get(kj, "cronjob", "hist")["status"]["lastSuccessfulTime"]


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_create_job_and_cronjob_with_each_kubectl(jobs_cluster, kj, version):
    k = Kubectl(kubectl_binary(version), jobs_cluster.kubeconfig, kj.namespace)
    k("create", "cronjob", "nightly", "--image=busybox:1.36", "--schedule=@daily")
    k("create", "job", "from-cron", "--from=cronjob/nightly")
    k("create", "job", "direct", "--image=busybox:1.36")
    jobs = {j["metadata"]["name"]: j for j in json.loads(k("get", "jobs", "-o", "json"))["items"]}
    assert jobs["from-cron"]["metadata"]["ownerReferences"][0]["name"] == "nightly"
    assert jobs["direct"]["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    wait_for("both jobs active", lambda: all(get(k, "job", n).get("status", {}).get("active") == 1 for n in ("from-cron", "direct")))
    assert re.match(r"^nightly\s+@daily\s+<none>\s+False\s+0\s+<none>\s", k("get", "cronjobs", "--no-headers"), re.IGNORECASE)
    k("delete", "job", "direct", "from-cron")
    wait_for("their pods deleted", lambda: json.loads(k("get", "pods", "-o", "json"))["items"] == [])
