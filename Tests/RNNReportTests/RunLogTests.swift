import Foundation
import Testing
@testable import RNNReport

@Suite struct RunLogTests {
    @Test func readsRNNTrainLinesAndTheTestEvent() throws {
        let text = """
        {"epoch":1,"train_loss":0.5,"train_acc":0.85,"val_loss":0.3,"val_acc":0.9,"seconds":12.5,"lr":0.001,"steps":430}
        {"epoch":2,"train_loss":0.2,"train_acc":0.95,"val_loss":null,"val_acc":0.96,"seconds":12,"lr":0.001,"steps":430}
        {"event":"test","test_loss":0.1,"test_acc":0.97,"train_seconds":24.5,"output":"models/m.rnnm"}

        """
        let log = try RunLog.parse(jsonLines: text)
        #expect(log.epochs.map(\.epoch) == [1, 2])
        #expect(log.epochs[0].trainAccuracy == 0.85)
        #expect(log.epochs[0].seconds == 12.5)
        #expect(log.epochs[1].validationLoss == nil)
        #expect(log.testAccuracy == 0.97)
        #expect(log.trainSeconds == 24.5)
    }

    @Test func acceptsCamelCasePercentagesAndResumedEpochs() throws {
        let text = """
        {"epoch":1,"trainLoss":0.9,"validationAccuracy":80}
        {"epoch":1,"trainLoss":0.4,"validationAccuracy":90.5}
        {"note":"no epoch here"}
        """
        let log = try RunLog.parse(jsonLines: text)
        #expect(log.epochs.count == 1)
        #expect(log.epochs[0].trainLoss == 0.4)
        #expect(abs((log.epochs[0].validationAccuracy ?? 0) - 0.905) < 1e-12)
    }

    @Test func ignoresATruncatedLastLineButNotABrokenMiddleOne() throws {
        let truncated = "{\"epoch\":1,\"train_loss\":0.5}\n{\"epoch\":2,\"train_lo"
        #expect(try RunLog.parse(jsonLines: truncated).epochs.count == 1)
        #expect(throws: ReportError.self) {
            try RunLog.parse(jsonLines: "{\"epoch\":1}\nnot json\n{\"epoch\":2}\n")
        }
        do {
            _ = try RunLog.parse(jsonLines: "{\"epoch\":1}\nnot json\n{\"epoch\":2}\n")
        } catch {
            #expect(error == .invalidRunLog(line: 2, detail: "found 'not json'"))
        }
    }

    @Test func comparisonJSONDecodesRunsAndRejectsOtherSchemas() throws {
        let json = """
        {"schema":"rnn-compare/1","quick":true,"settings":{"epochs":3,"torch":"2.13.0+cpu"},
         "runs":[{"key":"cnn","name":"CNN","dataset":"mnist","family":"cnn","parameters":61706,"test_accuracy":0.99,
                  "epochs":[{"epoch":1,"test_accuracy":0.98}],
                  "inference":[{"threads":1,"batch":1,"images_per_second":2500.5}]}]}
        """
        let comparison = try Comparison.decode(json: Data(json.utf8))
        #expect(comparison.quick)
        #expect(comparison.settings["epochs"] == "3")
        let cnn = try #require(comparison.run("cnn"))
        #expect(cnn.parameters == 61_706)
        #expect(cnn.epochs.first?.testAccuracy == 0.98)
        #expect(cnn.imagesPerSecond(batch: 1, threads: 1) == 2500.5)
        #expect(throws: ReportError.invalidComparison(detail: "expected schema 'rnn-compare/1', found 'other'")) {
            try Comparison.decode(json: Data("{\"schema\":\"other\",\"runs\":[]}".utf8))
        }
        #expect(throws: ReportError.self) { try Comparison.decode(json: Data("[1,2]".utf8)) }
    }
}
