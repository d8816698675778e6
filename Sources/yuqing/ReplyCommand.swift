import ArgumentParser
import YuqingCases

struct ReplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reply",
        abstract: L("Draft, sign, approve or return, and publish a case's reply (审定回复).",
                    zh: "案件回复的起草、签字、审定或退回、发布（审定回复）。"),
        discussion: L("""
            A unit drafts; its unit head signs; the office approves or returns it with a reason (a
            leader approves for levels I–II); a returned draft is revised as a new draft
            (`reply draft --revises DRAFT`); the approved draft is published with its link.
            Drafts are named by the id `case show` lists.
            """, zh: """
            由单位起草，单位负责人签字，办公室审定通过或说明理由后退回（I–II 级由领导审定）；
            退回的草稿修改后作为新草稿提交（`reply draft --revises DRAFT`）；审定通过的草稿发布后
            记录其发布链接。草稿以 `case show` 列出的编号指定。
            """),
        subcommands: [Draft.self, Sign.self, Approve.self, Return.self, Publish.self])

    struct Draft: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Draft the unit's reply.", zh: "起草本单位的回复。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The reply's text.", zh: "回复内容。"))) var text: String
        @Option(help: ArgumentHelp(L("The returned draft this revises.", zh: "本稿所修改的被退回草稿。"))) var revises: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .draft(text: text, revises: revises) }
    }

    struct Sign: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("The unit head signs a draft (负责人签字).", zh: "单位负责人在草稿上签字。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The draft's id.", zh: "草稿编号。"))) var draft: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .sign(draft: draft) }
    }

    struct Approve: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Approve a signed draft (审定).", zh: "审定通过已签字的草稿。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The draft's id.", zh: "草稿编号。"))) var draft: String
        @Option(help: CaseCommand.zhOnly("审定意见。")) var note: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .approve(draft: draft, note: note) }
    }

    struct Return: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Send a signed draft back with a reason.", zh: "退回已签字的草稿并说明理由。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The draft's id.", zh: "草稿编号。"))) var draft: String
        @Option(help: ArgumentHelp(L("What must change.", zh: "需要修改的内容。"))) var reason: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .returnDraft(draft: draft, reason: reason) }
    }

    struct Publish: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Record the approved reply as published, with its link.", zh: "登记审定通过的回复已发布，并记录发布链接。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The draft's id.", zh: "草稿编号。"))) var draft: String
        @Option(help: ArgumentHelp(L("Where it was published.", zh: "发布链接。"))) var link: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .publish(draft: draft, link: link) }
    }
}
