import SkiffCore
import Testing

/// Job and CronJob defaulting and validation, as upstream's batch strategy.
@Suite struct BatchDefaultsTests {
    static let template = #""template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}"#

    @Test func aJobGetsItsSelectorAndLabelsFromItsUID() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let job = try await s.create("/apis/batch/v1/namespaces/default/jobs", #"{"metadata":{"name":"pi"},"spec":{\#(Self.template)}}"#)
        let uid = try #require(job.uid)
        #expect(job[path: ["spec", "selector"]] == ["matchLabels": ["batch.kubernetes.io/controller-uid": .string(uid)]])
        let labels: JSON = ["batch.kubernetes.io/job-name": "pi", "job-name": "pi", "batch.kubernetes.io/controller-uid": .string(uid), "controller-uid": .string(uid)]
        #expect(job[path: ["spec", "template", "metadata", "labels"]] == labels)
        #expect(job[path: ["metadata", "labels"]] == labels)
        #expect(job[path: ["spec", "manualSelector"]] == false)
        #expect(job[path: ["spec", "backoffLimit"]] == 6)
        #expect(job[path: ["spec", "completions"]] == 1)
    }

    @Test func selectorsAreCheckedAgainstTheTemplate() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let missing = await s.request("POST", "/apis/batch/v1/namespaces/default/jobs",
                                      #"{"metadata":{"name":"m"},"spec":{"manualSelector":true,\#(Self.template)}}"#)
        #expect(missing.status == 422)
        #expect(missing.json["message"] == #"Job.batch "m" is invalid: spec.selector: Required value"#)
        let mismatch = await s.request("POST", "/apis/batch/v1/namespaces/default/jobs",
                                       #"{"metadata":{"name":"x"},"spec":{"manualSelector":true,"selector":{"matchLabels":{"app":"a"}},\#(Self.template)}}"#)
        #expect(mismatch.status == 422)
        #expect(mismatch.json["message"]?.stringValue?.contains("`selector` does not match template `labels`") == true)
        let policy = await s.request("POST", "/apis/batch/v1/namespaces/default/jobs", #"""
            {"metadata":{"name":"p"},"spec":{"podFailurePolicy":{"rules":[]},
             "template":{"spec":{"restartPolicy":"OnFailure","containers":[{"name":"c","image":"busybox"}]}}}}
            """#)
        #expect(policy.status == 422)
        _ = try await s.create("/apis/batch/v1/namespaces/default/jobs", #"{"metadata":{"name":"fixed"},"spec":{\#(Self.template)}}"#)
        let immutable = await s.request("PATCH", "/apis/batch/v1/namespaces/default/jobs/fixed", #"{"spec":{"completionMode":"Indexed"}}"#)
        #expect(immutable.status == 422)
        #expect(immutable.json["message"] == #"Job.batch "fixed" is invalid: spec.completionMode: Invalid value: "Indexed": field is immutable"#)
    }

    @Test func cronJobSchedulesAndTimeZonesAreValidated() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        func create(_ name: String, _ extra: String) async -> (Int, String) {
            let r = await s.request("POST", "/apis/batch/v1/namespaces/default/cronjobs",
                                    #"{"metadata":{"name":"\#(name)"},"spec":{\#(extra),"jobTemplate":{"spec":{\#(Self.template)}}}}"#)
            return (r.status, r.json["message"]?.stringValue ?? "")
        }
        #expect(await create("ok", #""schedule":"*/5 * * * *","timeZone":"Europe/Paris""#).0 == 201)
        #expect(await create("a", #""schedule":"* * *""#)
            == (422, #"CronJob.batch "a" is invalid: spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]"#))
        #expect(await create("b", #""schedule":"* * * * *","timeZone":"Mars/Olympus""#)
            == (422, #"CronJob.batch "b" is invalid: spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus"#))
        #expect(await create("c", #""schedule":"TZ=UTC * * * * *""#)
            == (422, #"CronJob.batch "c" is invalid: spec.schedule: Invalid value: "TZ=UTC * * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"#))
    }
}
