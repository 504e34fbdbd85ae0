import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("docs/finetune.md");
