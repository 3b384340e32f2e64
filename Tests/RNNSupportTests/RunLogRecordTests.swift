import Testing
import RNNSupport

/// rnn-train writes the run log's lines and rnn-report reads them with the same type.
@Suite struct RunLogRecordTests {
    /// Reads `line` the way RNNReport does.
    func read(_ line: String) throws -> RunLogRecord? {
        RunLogRecord(try #require(JSONMembers(parsing: line)))
    }

    /// Lines as rnn-train writes them (the first and the last from `models/mnist-lstm.log.jsonl`, the
    /// middle one with a `null` and an exponent): reading and writing again gives the same bytes.
    static let writtenByRNNTrain = [
        #"{"epoch":1,"train_loss":0.5582513213346342,"train_acc":0.8253272727272727,"val_loss":0.12433973084186009,"val_acc":0.9672,"seconds":8.0254559290006,"lr":0.001993446610867977,"steps":430}"#,
        #"{"epoch":20,"train_loss":0.0098,"train_acc":1,"val_loss":null,"val_acc":0.99,"seconds":12,"lr":1e-05,"steps":8600}"#,
        #"{"event":"test","test_loss":0.03927271549135196,"test_acc":0.9901,"train_seconds":133.25819064699954,"output":"models/mnist-lstm.rnnm"}"#,
    ]

    @Test(arguments: writtenByRNNTrain)
    func aLineRoundTripsByteForByte(_ line: String) throws {
        let record = try #require(try read(line))
        #expect(record.jsonLine == line)
    }

    @Test func recordsRoundTripThroughTheirJSON() throws {
        let records: [RunLogRecord] = [
            .epoch(.init(epoch: 3, trainLoss: 0.25, trainAccuracy: 0.9, validationLoss: 1e-7, validationAccuracy: 0.875,
                         seconds: 8.125, learningRate: 0.001993446610867977, steps: 1290)),
            .epoch(.init(epoch: 4)),
            .test(.init(loss: 0.04, accuracy: 0.99, trainSeconds: 100, output: "out/\"odd\" name\n.rnnm")),
            .test(.init()),
        ]
        for record in records {
            #expect(try read(record.jsonLine) == record, "\(record.jsonLine)")
        }
    }

    @Test func nonFiniteMeasuresAreWrittenAsNull() {
        let line = RunLogRecord.epoch(.init(epoch: 1, trainLoss: .nan, trainAccuracy: .infinity, steps: 2)).jsonLine
        #expect(line == #"{"epoch":1,"train_loss":null,"train_acc":null,"val_loss":null,"val_acc":null,"seconds":null,"lr":null,"steps":2}"#)
    }

    @Test func readingAcceptsOtherNamesAndPercentages() throws {
        #expect(try read(#"{"epoch":2,"trainLoss":0.4,"validationAccuracy":90.5,"time":3}"#)
                == .epoch(.init(epoch: 2, trainLoss: 0.4, validationAccuracy: 0.905, seconds: 3)))
        #expect(try read(#"{"event":"test","accuracy":97,"loss":0.1}"#) == .test(.init(loss: 0.1, accuracy: 0.97)))
        #expect(try read(#"{"note":"no epoch here"}"#) == nil)
        #expect(try read(#"{"epoch":1.5e300}"#) == nil)
    }
}
