import { App } from 'cdk8s';
import { ShopChart } from './chart';

const app = new App();
new ShopChart(app, 'shop');
app.synth();
